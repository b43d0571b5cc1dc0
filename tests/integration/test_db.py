"""The storage basics on both databases: UTC timestamps, UUID ids, SQLite's concurrency set-up."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from plantsync.core.db import Database
from plantsync.core.models import Tenant


def test_timestamps_round_trip_as_utc(db: Database) -> None:
    local = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    with db.write_session() as s:
        s.add(Tenant(name="acme", created_at=local))
    with db.read_session() as s:
        tenant = s.exec(select(Tenant)).one()
    assert tenant.created_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert tenant.created_at.tzinfo is UTC


def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.write_session() as s:
        s.add(Tenant(name="acme", created_at=datetime(2026, 3, 1, 10, 0)))
    with db.read_session() as s:
        assert s.exec(select(Tenant)).all() == []


def test_sqlite_uses_wal_and_readers_do_not_wait_for_writer(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite-specific")
    with db.read_session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    writing = threading.Event()
    done = threading.Event()

    def writer() -> None:
        with db.write_session() as s:
            s.add(Tenant(name="slow"))
            s.flush()
            writing.set()
            done.wait(5)

    t = threading.Thread(target=writer)
    t.start()
    assert writing.wait(5)
    with db.read_session() as s:  # must not block on the open write transaction
        assert s.exec(select(Tenant)).all() == []
    done.set()
    t.join()
    with db.read_session() as s:
        assert [t.name for t in s.exec(select(Tenant))] == ["slow"]
