"""``plantsync db upgrade|current``: the database schema."""

from __future__ import annotations

import typer

from plantsync.cli.common import settings, stderr
from plantsync.core import migrate
from plantsync.core.db import get_database

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Migrate the database to the latest schema (safe to run again)."""
    db = get_database(settings())
    before = migrate.current(db)
    after = migrate.upgrade(db)
    if before == after:
        stderr.print(f"Database already at the latest revision ({after}).", highlight=False)
    else:
        stderr.print(f"Database upgraded: {before or 'empty'} -> {after}.", highlight=False)


@db_app.command("current")
def current() -> None:
    """Print the database's schema revision and whether it is the latest."""
    db = get_database(settings())
    revision = migrate.current(db)
    head = migrate.head()
    state = "up to date" if revision == head else f"behind (latest: {head})"
    typer.echo(f"{revision or 'none'} ({state})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
