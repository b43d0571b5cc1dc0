"""Alembic environment: migrates the connection handed over by ``plantsync.core.migrate``,
or, when run by the ``alembic`` command, the database of the current settings.

Column types of our own (``UTCDateTime``, roles, SQLModel's strings) are rendered as the plain
SQLAlchemy types they store, so migration scripts never import application code.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import plantsync.core.models  # noqa: F401 - registers every table on the metadata
from plantsync.core.models.change import CHANGE_SEQUENCE

target_metadata = SQLModel.metadata
# Autogenerate does not see sequences; the revision template creates these (PostgreSQL only).
SEQUENCES = [CHANGE_SEQUENCE]


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        if isinstance(impl, sa.String) and not isinstance(impl, sa.Enum):
            return f"sa.String(length={impl.length})" if impl.length else "sa.String()"
        if isinstance(impl, sa.DateTime):
            return f"sa.DateTime(timezone={impl.timezone})"
        return f"sa.{impl!r}"
    return False


def _configure(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        template_args={"sequences": [(seq.name, seq.start or 1) for seq in SEQUENCES]},
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from plantsync.core.config import get_settings
    from plantsync.core.db import make_engine

    engine = make_engine(get_settings().effective_database_url)
    with engine.begin() as conn:
        _configure(conn)
        context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "Offline (SQL script) migrations are not supported: run `plantsync db upgrade`"
    )
run_migrations_online()
