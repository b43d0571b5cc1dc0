"""The storage basics on both databases: UTC timestamps, UUID ids, SQLite's concurrency set-up."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from plantsync.core.db import Database, write_gate
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


def test_sqlite_writers_of_one_process_are_served_in_arrival_order(db: Database) -> None:
    """A writer that commits and begins again at once cannot starve a waiting short writer."""
    if not db.is_sqlite:
        pytest.skip("SQLite-specific")
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def greedy() -> None:
        with db.write_session() as s:
            s.add(Tenant(name="greedy-0"))
            s.flush()
            holding.set()
            release.wait(5)
        for i in range(1, 20):  # commits and begins again at once
            with db.write_session() as s:
                s.add(Tenant(name=f"greedy-{i}"))
                order.append(f"greedy-{i}")  # recorded while holding the write lock

    def short() -> None:
        with db.write_session() as s:
            s.add(Tenant(name="andon"))
            order.append("andon")

    g = threading.Thread(target=greedy)
    g.start()
    assert holding.wait(5)
    a = threading.Thread(target=short)
    a.start()
    gate = write_gate(db.engine)
    assert gate is not None
    deadline = time.monotonic() + 5
    while gate.waiting == 0 and time.monotonic() < deadline:  # the short writer has queued
        a.join(0.001)
    release.set()
    g.join(10)
    a.join(10)
    assert order.index("andon") == 0, order
