"""Schema migrations (Alembic), run from code: ``upgrade``, ``current``, ``is_at_head``.

The migration scripts ship with the package: ``plantsync/_migrations`` in a wheel (see
``pyproject.toml``), the repository's top-level ``migrations/`` in a checkout or editable install.
On PostgreSQL an upgrade holds an advisory lock, so API nodes starting together take turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

import plantsync
from plantsync.core.db import Database
from plantsync.errors import ConfigurationError

# An arbitrary constant: the advisory lock all PlantSync processes take to migrate.
_MIGRATION_LOCK_ID = 0x504C414E  # "PLAN"


def migrations_dir() -> Path:
    """Where the migration scripts are (packaged first, then the source checkout)."""
    package = Path(plantsync.__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigurationError("The database migration scripts are missing from the installation")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for our scripts; ``connection`` is what ``env.py`` migrates."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(db: Database) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_at_head(db: Database) -> bool:
    return current(db) == head()


def upgrade(db: Database, revision: str = "head") -> str | None:
    """Migrates the database to ``revision`` (default: head); returns the new revision."""
    with db.engine.begin() as conn, _migration_lock(conn):
        command.upgrade(alembic_config(conn), revision)
    return current(db)


@contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    if conn.dialect.name != "postgresql":
        yield  # SQLite serialises writers itself
        return
    # Transaction-level: released when the migration transaction ends.
    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    yield


def write_initial_revision(sqlite_path: Path) -> Path:
    """Regenerates ``versions/0001_initial.py`` from the complete model metadata (developers).

    Autogenerates against an empty SQLite file at ``sqlite_path``; the one initial revision
    covers every table.
    """
    versions = migrations_dir() / "versions"
    versions.mkdir(exist_ok=True)
    for old in versions.glob("0001_*.py"):
        old.unlink()
    db = Database(f"sqlite:///{sqlite_path.as_posix()}")
    try:
        with db.engine.begin() as conn:
            command.revision(
                alembic_config(conn), message="initial", autogenerate=True, rev_id="0001"
            )
    finally:
        db.dispose()
    return versions / "0001_initial.py"


def _main() -> None:
    import sys
    import tempfile

    if sys.argv[1:2] != ["write-initial"]:
        raise SystemExit("usage: python -m plantsync.core.migrate write-initial")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_initial_revision(Path(tmp) / "empty.db")
    print(f"wrote {path}")


if __name__ == "__main__":
    _main()
