"""Database engine and sessions, one schema for SQLite and PostgreSQL.

SQLite is set up for a server with background work: WAL (readers never wait for the writer),
a busy timeout (a writer waits its turn instead of failing with "database is locked"), and
write transactions that take the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``) so a transaction
never fails half-way when it upgrades from reading to writing. Use ``write_session`` for work
that writes and keep it short; ``read_session`` never blocks on a writer.

SQLite's busy handler polls without a queue, so a writer that commits and begins again at
once (a bulk upsert, an inbound sync page after page) can starve short writers such as andon
calls. Within one process, write transactions therefore also pass a FIFO gate
(``_WriteGate``): each waits at most for the writers that arrived before it. Other processes
still meet the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from plantsync.core.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 15_000


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC on both databases; naive datetimes are refused.

    SQLite keeps no zone, so values are converted to UTC before storing and marked UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: PlantSync stores only aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with our SQLite set-up applied (a no-op for PostgreSQL)."""
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            raise ValueError("in-memory SQLite is not supported: use a file")
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class _WriteGate:
    """A first-come, first-served lock for the write transactions of one process."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locked = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over between the timeout and here
                return True
            self._waiters.remove(turn)
            return False

    @property
    def waiting(self) -> int:
        with self._mutex:
            return len(self._waiters)

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # hand the lock over; it stays locked
            else:
                self._locked = False


_GATE_KEY = "plantsync_write_gate"
_GATES: weakref.WeakKeyDictionary[Engine, _WriteGate] = weakref.WeakKeyDictionary()


def write_gate(engine: Engine) -> _WriteGate | None:
    """The write gate of an SQLite engine (None for PostgreSQL)."""
    return _GATES.get(engine)


def _configure_sqlite(engine: Engine) -> None:
    gate = _GATES[engine] = _WriteGate()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN is ours (see module docstring).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode != "IMMEDIATE":
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        if not gate.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError(
                "database is locked: waited "
                f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s for this process's other writers"
            )
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.release()
            raise
        conn.info[_GATE_KEY] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        if conn.info.pop(_GATE_KEY, False):
            gate.release()


class Database:
    """An engine plus the two kinds of session the product uses."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def session(self, *, write: bool) -> Session:
        """A plain session (the caller commits); ``write`` takes the SQLite write lock at BEGIN."""
        return Session(self._write_engine if write else self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


_databases: dict[str, Database] = {}
_lock = threading.Lock()


def get_database(settings: Settings) -> Database:
    """The process-wide ``Database`` for these settings' URL (created on first use)."""
    url = settings.effective_database_url
    with _lock:
        db = _databases.get(url)
        if db is None:
            if url.startswith("sqlite"):
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            db = _databases[url] = Database(url)
        return db


__all__ = ["Database", "NullPool", "UTCDateTime", "get_database", "make_engine", "new_id"]
