"""The job queue of the scale-out mode: procrastinate on the hub's PostgreSQL database.

- One task, ``plantsync.run_sync``, whose job carries only the log id: the worker reloads
  everything from the database and runs ``runs``' life cycle (claim, lease renewal, finish)
  through ``executor.run_in_process`` — a log that is no longer ``pending`` (another worker,
  ``sync --wait``, a deleted connection) makes the job a no-op.
- Jobs are deferred with a queueing lock per (connection, entity, direction): procrastinate
  refuses a second waiting job for the pair (``AlreadyEnqueued``), and ``enqueue_run`` then
  answers with the log of the job already waiting.
- ``enqueue_pending`` defers every ``pending`` run that has no waiting or running job — the
  scheduler calls it each tick and the API after a manual trigger or retry, so every run,
  whoever requested it, goes through the queue, and a run whose job was lost is re-queued.
- Jobs live in PostgreSQL: they survive worker restarts. A job left ``doing`` by a worker that
  died is closed ``failed`` by ``close_stalled_jobs`` (its run is failed and retried from its
  expired lease, see ``stalled``).
- ``ensure_schema`` applies procrastinate's schema (once, under an advisory lock) when absent.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as pexc
from procrastinate import sql as psql
from procrastinate.schema import SchemaManager

from plantsync.core.db import Database
from plantsync.core.models.integration import SyncLog
from plantsync.core.sync.executor import Runner, default_worker_id, run_in_process
from plantsync.scheduler.leader import libpq_url, lock_key

log = logging.getLogger(__name__)

TASK_NAME = "plantsync.run_sync"
QUEUE = "plantsync_sync"
PENDING_BATCH = 500

_UNQUEUED_PENDING = sa.text(
    """
    SELECT l.id FROM sync_log l
    WHERE l.status = 'pending'
      AND NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs j
        WHERE j.task_name = :task AND j.status IN ('todo', 'doing')
          AND j.args ->> 'log_id' = CAST(l.id AS TEXT)
      )
    ORDER BY l.created_at
    LIMIT :limit
    """
)
_WAITING_JOB_LOG = sa.text(
    "SELECT args ->> 'log_id' FROM procrastinate_jobs "
    "WHERE queueing_lock = :lock AND status = 'todo' LIMIT 1"
)


def pair_lock(run: SyncLog) -> str:
    """The queueing lock of a run's pair: one waiting job per connection/entity/direction."""
    return f"sync:{run.connection_id}:{run.entity_type.value}:{run.direction.value}"


# --- the task --------------------------------------------------------------------------------


@dataclass
class WorkerContext:
    """What ``run_sync_job`` needs in a worker process (set by ``plantsync worker``)."""

    database: Database
    runner: Runner | None
    lease_seconds: float
    worker_id: str


_context: WorkerContext | None = None
_context_lock = threading.Lock()


def set_worker_context(context: WorkerContext | None) -> None:
    global _context
    with _context_lock:
        _context = context


def run_sync_job(log_id: str) -> None:
    """The job: runs the pending log ``log_id`` here (a no-op when it is no longer pending)."""
    context = _context
    if context is None:
        raise RuntimeError("run_sync_job runs only in a `plantsync worker` process")
    closed = run_in_process(
        uuid.UUID(log_id),
        database=context.database,
        runner=context.runner,
        lease_seconds=context.lease_seconds,
        worker_id=context.worker_id,
    )
    if closed is None:
        log.info("job for run %s: the run is no longer pending; nothing to do", log_id)
    else:
        log.info("run %s finished %s", log_id, closed.status.value)


def build_app(database_url: str, *, worker: bool = False) -> procrastinate.App:
    """A procrastinate app on the hub's database; ``worker``: the async connector a worker
    needs, otherwise a synchronous one for deferring from threads."""
    conninfo = libpq_url(database_url)
    connector: Any
    if worker:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo)
    else:
        connector = procrastinate.SyncPsycopgConnector(conninfo=conninfo, min_size=1, max_size=2)
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME, queue=QUEUE)(run_sync_job)
    return app


def ensure_schema(database: Database) -> None:
    """Applies procrastinate's schema when its tables are missing (first start)."""
    with database.engine.begin() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("queue-schema", schema)}
        )
        present = conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if present is None:
            log.info("queue: creating procrastinate's tables in schema %s", schema)
            conn.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


# --- deferring -------------------------------------------------------------------------------


class Queue:
    """Defers runs to the workers (a synchronous procrastinate app, opened lazily)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._app = build_app(database.url)
        self._opened = False
        self._lock = threading.Lock()

    def _ready(self) -> procrastinate.App:
        with self._lock:
            if not self._opened:
                self._app.open()
                self._opened = True
        return self._app

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._app.close()
                self._opened = False

    def enqueue_run(self, run: SyncLog) -> uuid.UUID:
        """Defers ``run``; returns its id, or the id of the run already waiting for its pair."""
        deferrer = self._ready().configure_task(TASK_NAME, queueing_lock=pair_lock(run))
        try:
            deferrer.defer(log_id=str(run.id))
        except pexc.AlreadyEnqueued:
            with self.database.read_session() as session:
                waiting = session.execute(_WAITING_JOB_LOG, {"lock": pair_lock(run)}).scalar()
            return uuid.UUID(waiting) if waiting else run.id
        return run.id

    def enqueue_pending(self, *, guard: Callable[[], bool] = lambda: True) -> int:
        """Defers every pending run without a live job; returns how many were deferred."""
        with self.database.read_session() as session:
            ids = list(
                session.execute(_UNQUEUED_PENDING, {"task": TASK_NAME, "limit": PENDING_BATCH})
                .scalars()
                .all()
            )
            pending = [r for r in (session.get(SyncLog, i) for i in ids) if r is not None]
        count = 0
        for run in pending:
            if not guard():
                break
            if self.enqueue_run(run) == run.id:
                count += 1
        return count

    def wake(self) -> None:
        """The API's hook after a trigger: queue what is pending now (never raises)."""
        try:
            self.enqueue_pending()
        except Exception:  # the scheduler's next tick queues it; the request must not fail
            log.exception("queue: could not defer pending runs; the scheduler will")

    def close_stalled_jobs(self, seconds_since_heartbeat: float) -> int:
        """Closes ``failed`` the jobs left ``doing`` by workers that stopped heartbeating."""
        connector = self._ready().connector
        rows = connector.get_sync_connector().execute_query_all(
            query=psql.queries["select_stalled_jobs_by_heartbeat"],
            queue=QUEUE,
            task_name=TASK_NAME,
            seconds_since_heartbeat=seconds_since_heartbeat,
        )
        for row in rows:
            connector.get_sync_connector().execute_query(
                query=psql.queries["finish_job"],
                job_id=row["id"],
                status="failed",
                delete_job=False,
            )
            log.warning("queue: job %s of a dead worker closed failed", row["id"])
        return len(rows)


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    running: int


def queue_depth(database: Database) -> QueueDepth | None:
    """Jobs waiting for and held by workers (None when the queue's tables do not exist)."""
    with database.read_session() as session:
        if session.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return None
        row = session.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE status = 'todo'), "
                "count(*) FILTER (WHERE status = 'doing') FROM procrastinate_jobs "
                "WHERE queue_name = :queue AND status IN ('todo', 'doing')"
            ),
            {"queue": QUEUE},
        ).one()
    return QueueDepth(waiting=int(row[0]), running=int(row[1]))


@contextmanager
def worker_context(
    database: Database, *, runner: Runner | None, lease_seconds: float
) -> Iterator[WorkerContext]:
    """Installs the context ``run_sync_job`` uses in this process for the ``with`` block."""
    context = WorkerContext(
        database=database,
        runner=runner,
        lease_seconds=lease_seconds,
        worker_id=default_worker_id("worker"),
    )
    set_worker_context(context)
    try:
        yield context
    finally:
        set_worker_context(None)


__all__ = [
    "QUEUE",
    "TASK_NAME",
    "Queue",
    "QueueDepth",
    "WorkerContext",
    "build_app",
    "ensure_schema",
    "pair_lock",
    "queue_depth",
    "run_sync_job",
    "set_worker_context",
    "worker_context",
]
