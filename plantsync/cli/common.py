"""What every CLI command shares: settings and database, output (``--json`` or tables), errors.

Commands call the same service functions as the API, directly on the database. stdout carries
only data; messages and progress go to stderr. Exit codes: 0 ok, 1 failed, 2 bad usage/input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from plantsync.core.config import Settings, get_settings
from plantsync.core.db import Database, get_database

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

EXIT_FAILED = 1
EXIT_USAGE = 2


def settings() -> Settings:
    return get_settings()


def database() -> Database:
    """The database of the current settings, ready to use.

    A database behind the latest schema is migrated first (``PLANTSYNC_AUTO_MIGRATE``, on by
    default); with auto-migration off it is refused with the command that fixes it.
    """
    db = get_database(get_settings())
    _ensure_schema(db)
    return db


_checked: set[str] = set()


def _ensure_schema(db: Database) -> None:
    from sqlalchemy import inspect

    from plantsync.core import migrate
    from plantsync.errors import ConfigurationError

    if db.url in _checked:
        return
    revision = migrate.current(db)
    if revision is None and inspect(db.engine).get_table_names():
        # Tables without a migration history were created directly from the models
        # (developer and test set-ups): leave them as they are.
        _checked.add(db.url)
        return
    if revision != migrate.head():
        if not get_settings().auto_migrate:
            raise ConfigurationError(
                "The database schema is not up to date: run `plantsync db upgrade` first"
            )
        migrate.upgrade(db)
    _checked.add(db.url)


TenantOption = typer.Option(
    None,
    "--tenant",
    "-t",
    help="Tenant name or id (optional when only one tenant exists).",
)


def read_secret(*, prompt: str, from_stdin: bool, confirm: bool = True) -> str:
    """A secret from stdin's first line (``--password-stdin``) or a hidden prompt; never argv."""
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, default=str) + "\n")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    """A table on stdout that never cuts a value short (ids are meant to be copied).

    On a terminal, long values wrap inside their cell; piped or redirected output is not
    squeezed to 80 columns but gets the width its content needs.
    """
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    if stdout.is_terminal:
        stdout.print(table)
    else:
        Console(file=stdout.file, soft_wrap=True, width=_UNBOUNDED_WIDTH).print(table)


# Wide enough for any row we print; a table only takes the width its content needs.
_UNBOUNDED_WIDTH = 10_000


def fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    stderr.print(f"[red]Error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **values: Any) -> M:
    """``model(**values)``, its pydantic errors turned into our ``ValidationError`` (exit 2)."""
    import pydantic

    from plantsync.errors import ValidationError

    try:
        return model(**values)
    except pydantic.ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            errors.setdefault(field, []).append(err["msg"])
        raise ValidationError(errors) from None
