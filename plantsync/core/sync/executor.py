"""The in-process executor: a small bounded thread pool that claims ``pending`` runs and runs
them with the sync engine's runner, ``plantsync.core.sync.engine.run_sync(log_id)``.

Jobs carry only the log id; the runner reloads everything from the database
(``plantsync.core.sync.current_database()`` is bound to the executor's database). While a job
runs, the executor renews its lease, so a long run on a live process is never taken for dead,
and it fails runs of dead workers (``runs.expire_stale_leases``) on each poll.

The runner contract: it is called for a log already ``in_progress`` and claimed by this
executor's ``worker_id``; it closes the log with ``runs.finish``. A runner that raises, or
returns leaving the log open, gets the log closed ``failed`` with the reason. Without an
installed sync engine every claimed run fails with ``ENGINE_MISSING`` — never a fake success.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.db import Database
from plantsync.core.models.integration import SyncLog, SyncStatus
from plantsync.core.sync import bind_database, runs
from plantsync.errors import ConflictError, PlantSyncError

log = logging.getLogger(__name__)

Runner = Callable[[uuid.UUID], None]
ENGINE_MODULE = "plantsync.core.sync.engine"
ENGINE_MISSING = (
    "The sync engine is not installed (module plantsync.core.sync.engine is missing), "
    "so this run could not be executed. Install a PlantSync release that includes it."
)


def load_runner() -> Runner | None:
    """The engine's ``run_sync``, or None when the engine module is not installed."""
    try:
        module = importlib.import_module(ENGINE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == ENGINE_MODULE:
            return None
        raise
    runner: Runner | None = getattr(module, "run_sync", None)
    return runner


class _FromEngine:
    """Marker: use the installed engine's ``run_sync`` (looked up when the executor starts)."""


FROM_ENGINE = _FromEngine()


def _resolve(runner: Runner | _FromEngine | None) -> Runner | None:
    return load_runner() if isinstance(runner, _FromEngine) else runner


def default_worker_id(prefix: str = "executor") -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _describe(exc: Exception) -> str:
    text = exc.message if isinstance(exc, PlantSyncError) else f"{type(exc).__name__}: {exc}"
    return f"The sync engine stopped with an error: {text}"


def execute_claimed(
    log_id: uuid.UUID,
    *,
    database: Database,
    worker_id: str,
    runner: Runner | None,
    clock: Clock = SYSTEM_CLOCK,
) -> SyncLog:
    """Runs one claimed log to its end and returns it closed (see the module docstring)."""
    failure: str | None = ENGINE_MISSING if runner is None else None
    if runner is not None:
        try:
            with bind_database(database):
                runner(log_id)
        except Exception as exc:  # the run's outcome, not ours: record it on the log
            log.exception("sync run %s failed", log_id)
            failure = _describe(exc)
    with database.write_session() as session:
        current = session.get(SyncLog, log_id, populate_existing=True)
        if current is not None and current.status in (SyncStatus.pending, SyncStatus.in_progress):
            message = failure or "The sync engine returned without closing the run"
            with contextlib.suppress(ConflictError):  # closed meanwhile (lease expired): it stands
                runs.finish(
                    log_id,
                    SyncStatus.failed,
                    runs.RunCounts(
                        read=current.records_read,
                        written=current.records_written,
                        failed=current.records_failed,
                        skipped=current.records_skipped,
                    ),
                    message,
                    session=session,
                    clock=clock,
                    worker_id=worker_id,
                )
        final = session.get(SyncLog, log_id, populate_existing=True)
    assert final is not None
    return final


class Executor:
    """Claims pending runs and executes them on at most ``max_workers`` threads.

    Args:
        database: where runs are claimed (and what runners see as ``current_database()``).
        max_workers: concurrent runs in this process.
        poll_seconds: how often to look for pending runs (``wake()`` looks at once).
        lease_seconds: the lease of a claimed run; renewed every third of it.
        runner: the run function; default: the engine's ``run_sync`` (None if not installed).
    """

    def __init__(
        self,
        database: Database,
        *,
        max_workers: int = 2,
        poll_seconds: float = 2.0,
        lease_seconds: float = runs.DEFAULT_LEASE_SECONDS,
        runner: Runner | _FromEngine | None = FROM_ENGINE,
        clock: Clock = SYSTEM_CLOCK,
        worker_id: str | None = None,
    ) -> None:
        self.database = database
        self.max_workers = max_workers
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.runner = _resolve(runner)
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self._pool = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="plantsync-sync"
        )
        self._running: dict[uuid.UUID, Future[SyncLog]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one poll ---------------------------------------------------------------------------

    def run_once(self) -> list[uuid.UUID]:
        """Expires stale leases, renews ours, claims pending runs into free slots.

        Returns:
            The ids of the runs started by this call.
        """
        with self.database.write_session() as session:
            for expired in runs.expire_stale_leases(session=session, clock=self.clock):
                log.warning("sync run %s failed: %s", expired.id, expired.message)
        self.renew_leases()
        started: list[uuid.UUID] = []
        while self._free_slots() > 0 and not self._stop.is_set():
            with self.database.write_session() as session:
                claimed = runs.claim_next(
                    session=session,
                    worker_id=self.worker_id,
                    lease_seconds=self.lease_seconds,
                    clock=self.clock,
                )
            if claimed is None:
                break
            self._submit(claimed.id)
            started.append(claimed.id)
        return started

    def _free_slots(self) -> int:
        with self._lock:
            self._running = {k: f for k, f in self._running.items() if not f.done()}
            return self.max_workers - len(self._running)

    def _submit(self, log_id: uuid.UUID) -> None:
        if self.runner is None:
            log.error("sync run %s: %s", log_id, ENGINE_MISSING)
        future = self._pool.submit(
            execute_claimed,
            log_id,
            database=self.database,
            worker_id=self.worker_id,
            runner=self.runner,
            clock=self.clock,
        )
        with self._lock:
            self._running[log_id] = future

    def renew_leases(self) -> None:
        """Renews the lease of every run this executor is executing."""
        with self._lock:
            active = [k for k, f in self._running.items() if not f.done()]
        for log_id in active:
            with self.database.write_session() as session:
                runs.heartbeat(
                    log_id,
                    session=session,
                    worker_id=self.worker_id,
                    lease_seconds=self.lease_seconds,
                    clock=self.clock,
                )

    def drain(self, timeout: float | None = None) -> None:
        """Waits until the runs started so far have finished."""
        with self._lock:
            futures = list(self._running.values())
        wait_futures(futures, timeout=timeout)

    # -- background loop --------------------------------------------------------------------

    def wake(self) -> None:
        """Looks for pending runs now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="plantsync-executor", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        renew_every = max(0.5, self.lease_seconds / 3)
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep polling: a database hiccup must not stop the executor
                log.exception("executor poll failed")
            self._wake.wait(min(self.poll_seconds, renew_every))
            self._wake.clear()

    def stop(self, *, wait: bool = True) -> None:
        """Stops polling; with ``wait``, lets the runs in progress finish."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._pool.shutdown(wait=wait)


def run_in_process(
    log_id: uuid.UUID,
    *,
    database: Database,
    runner: Runner | _FromEngine | None = FROM_ENGINE,
    lease_seconds: float = runs.DEFAULT_LEASE_SECONDS,
    clock: Clock = SYSTEM_CLOCK,
    worker_id: str | None = None,
) -> SyncLog | None:
    """Claims ``log_id`` and runs it here (``sync --wait`` without an executor).

    Returns:
        The closed log, or None when another executor claimed it first (follow it instead).
    """
    worker = worker_id or default_worker_id("cli")
    with database.write_session() as session:
        claimed = runs.claim(
            log_id, session=session, worker_id=worker, lease_seconds=lease_seconds, clock=clock
        )
    if claimed is None:
        return None
    fn = _resolve(runner)
    stop = threading.Event()

    def keep_lease() -> None:
        while not stop.wait(max(0.5, lease_seconds / 3)):
            with database.write_session() as session:
                runs.heartbeat(
                    log_id,
                    session=session,
                    worker_id=worker,
                    lease_seconds=lease_seconds,
                    clock=clock,
                )

    renewer = threading.Thread(target=keep_lease, name="plantsync-lease", daemon=True)
    renewer.start()
    try:
        return execute_claimed(log_id, database=database, worker_id=worker, runner=fn, clock=clock)
    finally:
        stop.set()
        renewer.join()
