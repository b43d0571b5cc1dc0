"""Migrations run from an empty database to head on both databases, and the migrated schema
is exactly the models' (so the single initial revision is regenerated when a model changes:
``make migration``)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from plantsync.api.app import create_app
from plantsync.core import migrate
from plantsync.core.config import Settings
from plantsync.core.db import Database


def test_upgrade_from_empty_to_head_matches_the_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert migrate.current(db) is None
        assert not migrate.is_at_head(db)
        assert migrate.upgrade(db) == migrate.head()
        assert migrate.is_at_head(db)
        assert migrate.upgrade(db) == migrate.head()  # running it again changes nothing
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff: list[Any] = compare_metadata(ctx, SQLModel.metadata)
        assert diff == [], "migrations differ from the models: run `make migration`"
    finally:
        db.dispose()


def test_readyz_reports_migrations_at_head(settings: Settings, db_url: str) -> None:
    db = Database(db_url)
    try:
        with TestClient(create_app(settings, database=db)) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503
            migrate.upgrade(db)
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
    finally:
        db.dispose()


def test_migrated_postgresql_has_the_change_sequence(db_url: str) -> None:
    """Autogenerate does not see sequences; the revision template must create them."""
    from sqlalchemy import text

    db = Database(db_url)
    try:
        migrate.upgrade(db)
        if db.is_sqlite:
            return  # SQLite draws change numbers from a counter row, not a sequence
        with db.engine.connect() as conn:
            first = conn.execute(text("SELECT nextval('plantsync_change_seq')")).scalar_one()
            second = conn.execute(text("SELECT nextval('plantsync_change_seq')")).scalar_one()
        assert second == first + 1
    finally:
        db.dispose()
