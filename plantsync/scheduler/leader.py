"""Exactly one active scheduler: a PostgreSQL advisory lock held on a dedicated connection.

The lock lives as long as the session that took it. The session is a connection of its own
(not from a pool, so nothing else ever runs on it or returns it) with TCP keepalives on both
ends: the client's libpq options and the server's ``tcp_keepalives_*`` for this session, so a
host that vanishes without closing its socket loses the lock within about
``idle + interval * count`` seconds instead of the kernel's two hours. A process that dies
normally (even SIGKILL) closes its socket and the lock is free at once.

Leadership is re-checked (``is_leader``: a round trip that asks ``pg_locks`` whether this very
session holds the lock) before each decision to enqueue; any error on the connection means
"not leader" and drops it, and the standby's next ``try_acquire`` takes over.

The lock key is derived from the schema the database URL points at, so hubs (or test runs)
sharing one PostgreSQL database in different schemas each have their own scheduler.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_COUNT = 3

_HOLDS_LOCK = """
SELECT EXISTS (
  SELECT 1 FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = pg_backend_pid()
    AND ((classid::bigint << 32) | objid::bigint) = %s
)
"""
_ANY_HOLDER = """
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND ((classid::bigint << 32) | objid::bigint) = %s
LIMIT 1
"""


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq URI of an SQLAlchemy ``postgresql+psycopg://`` URL (query options kept)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def lock_key(name: str, schema: str) -> int:
    """A positive 63-bit advisory lock key for ``name`` in ``schema``."""
    digest = hashlib.sha256(f"plantsync:{name}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def keepalive_kwargs() -> dict[str, Any]:
    return {
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
        "connect_timeout": 5,
    }


def current_schema(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    return str(row[0]) if row and row[0] else "public"


class AdvisoryLeader:
    """Holds (or waits for) the lock ``name`` on a dedicated connection.

    Args:
        database_url: the hub's PostgreSQL URL (SQLAlchemy or libpq form).
        name: what the lock elects (``scheduler``).
    """

    def __init__(self, database_url: str, *, name: str = "scheduler") -> None:
        self._conninfo = libpq_url(database_url)
        self.name = name
        self._conn: psycopg.Connection[Any] | None = None
        self._key: int | None = None
        self._leader = False
        self._lock = threading.Lock()

    @property
    def leader(self) -> bool:
        """What the last check found (no round trip)."""
        return self._leader

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                application_name=f"plantsync-{self.name}-{os.getpid()}",
                **keepalive_kwargs(),
            )
            # The server side of the keepalives: it frees the lock of a vanished client.
            conn.execute(f"SET tcp_keepalives_idle = {KEEPALIVE_IDLE_S}")
            conn.execute(f"SET tcp_keepalives_interval = {KEEPALIVE_INTERVAL_S}")
            conn.execute(f"SET tcp_keepalives_count = {KEEPALIVE_COUNT}")
            self._key = lock_key(self.name, current_schema(conn))
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        self._leader = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def try_acquire(self) -> bool:
        """Takes the lock if it is free (or already ours); True when this process leads."""
        with self._lock:
            try:
                conn = self._connect()
                if self._leader and self._holds(conn):
                    return True
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
                got = bool(row and row[0])
            except psycopg.Error as exc:
                log.warning("leader election: database unreachable (%s)", type(exc).__name__)
                self._drop()
                return False
            if got and not self._leader:
                log.info("leader election: this process is now the active %s", self.name)
            self._leader = got
            return got

    def _holds(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(_HOLDS_LOCK, (self._key,)).fetchone()
        return bool(row and row[0])

    def is_leader(self) -> bool:
        """Re-checks on the lock's own session that it still holds the lock."""
        with self._lock:
            if not self._leader or self._conn is None:
                return False
            try:
                held = self._holds(self._conn)
            except psycopg.Error as exc:
                log.warning("leader election: lost the lock's connection (%s)", type(exc).__name__)
                self._drop()
                return False
            if not held:
                log.warning("leader election: the lock is no longer held; standing by")
                self._leader = False
            return held

    def release(self) -> None:
        """Gives the lock up (closing the session frees it) so a standby takes over now."""
        with self._lock:
            self._drop()


def lock_holder_pid(database_url: str, *, name: str = "scheduler") -> int | None:
    """The backend pid holding the lock ``name`` (None: no active instance). For /readyz."""
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=3) as conn:
        key = lock_key(name, current_schema(conn))
        row = conn.execute(_ANY_HOLDER, (key,)).fetchone()
        return int(row[0]) if row else None
