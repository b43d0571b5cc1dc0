"""The scheduler's clockwork: APScheduler 3.x runs a few short periodic jobs; the database
holds every decision.

- ``tick`` (every ``scheduler_tick_seconds``): with leadership (scale-out: the advisory lock;
  embedded: always), request the due runs (``due.request_due``) and hand them to the executor
  — the in-process thread pool (embedded) or the queue (``queue.Queue.enqueue_pending``).
- ``stalled`` (every ``stalled_check_seconds``): fail runs whose lease expired and retry them
  per policy (``stalled``); on the queue also close the jobs dead workers left ``doing``.
- ``prune`` (every 6 hours): sync log retention (``log_retention_days``).

Missed runs are never left to APScheduler's memory: every job is an interval job with
``coalesce=True``, ``max_instances=1`` and ``misfire_grace_time=None`` (a late tick still runs,
once — APScheduler 3's default grace of one second would silently drop it), and what is due is
recomputed from the database at each tick, so runs missed while the hub was down become one
run at start (see ``due``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.services.sync_logs import prune_logs
from plantsync.scheduler import due, stalled
from plantsync.scheduler.leader import AdvisoryLeader
from plantsync.scheduler.queue import Queue

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)


class Waker(Protocol):
    def wake(self) -> None: ...


class SchedulerService:
    """Schedules due syncs and watches for stalled runs, in background threads.

    Args:
        database: the hub's database.
        settings: tick, jitter, lease and retry settings.
        executor: the embedded executor to wake after requesting runs (embedded mode).
        queue: the queue to defer runs to (scale-out mode); takes precedence over ``executor``.
        leader: the advisory-lock election (PostgreSQL); None: this process always schedules.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        executor: Waker | None = None,
        queue: Queue | None = None,
        leader: AdvisoryLeader | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.settings = settings
        self.executor = executor
        self.queue = queue
        self.leader = leader
        self.clock = clock
        self.timing = due.Timing.from_settings(settings)
        self.policy = stalled.RetryPolicy.from_settings(settings)
        self.leading_since: datetime | None = None
        self.last_tick_at: datetime | None = None
        self.last_error: str | None = None
        self.runs_requested = 0
        self._lock = threading.Lock()
        self._scheduler: Any = None

    # -- leadership ---------------------------------------------------------------------------

    @property
    def role(self) -> str:
        if self.leader is None:
            return "embedded"
        return "active" if self.leading_since is not None else "standby"

    def _lead(self) -> bool:
        """True when this instance may schedule now (taking the lock when it is free)."""
        if self.leader is None:
            if self.leading_since is None:
                self.leading_since = self.clock.now()
            return True
        if self.leader.try_acquire():
            if self.leading_since is None:
                self.leading_since = self.clock.now()
                log.info("scheduler: active (leading since %s)", self.leading_since.isoformat())
            return True
        if self.leading_since is not None:
            log.warning("scheduler: lost leadership; standing by")
        self.leading_since = None
        return False

    def _guard(self) -> bool:
        return self.leader is None or self.leader.is_leader()

    # -- the periodic jobs --------------------------------------------------------------------

    def tick(self) -> int:
        """One reconciliation: requests due runs and dispatches pending ones; returns the
        number of runs requested (0 on a standby)."""
        with self._lock:
            try:
                return self._tick()
            except Exception as exc:  # a database outage must not stop the clockwork
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("scheduler tick failed")
                return 0

    def _tick(self) -> int:
        if not self._lead():
            self.last_tick_at = self.clock.now()
            return 0
        assert self.leading_since is not None
        created = due.request_due(
            self.database, since=self.leading_since, timing=self.timing, clock=self.clock,
            guard=self._guard,
        )  # fmt: skip
        self._dispatch(bool(created))
        self.runs_requested += len(created)
        self.last_tick_at = self.clock.now()
        self.last_error = None
        return len(created)

    def _dispatch(self, anything_new: bool) -> None:
        if self.queue is not None:
            self.queue.enqueue_pending(guard=self._guard)
        elif anything_new and self.executor is not None:
            self.executor.wake()

    def check_stalled(self) -> stalled.StalledReport | None:
        """Fails runs of dead workers and retries them per policy (the leader only)."""
        if self.leader is not None and not self._guard():
            return None
        try:
            report = stalled.check_stalled(
                self.database, policy=self.policy, clock=self.clock, guard=self._guard
            )
            if self.queue is not None:
                self.queue.close_stalled_jobs(self.settings.sync_lease_seconds)
            self._dispatch(bool(report.retried))
            return report
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("stalled-run check failed")
            return None

    def prune(self) -> None:
        if self.leader is not None and not self._guard():
            return
        try:
            with self.database.write_session() as session:
                deleted = prune_logs(
                    session=session,
                    retention_days=self.settings.log_retention_days,
                    clock=self.clock,
                )
            if deleted:
                log.info("pruned %d sync logs older than %d days", deleted,
                         self.settings.log_retention_days)  # fmt: skip
        except Exception:
            log.exception("sync log pruning failed")

    # -- life cycle -----------------------------------------------------------------------------

    def _add(
        self, func: Callable[[], object], job_id: str, seconds: float, first: datetime
    ) -> None:
        self._scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            next_run_time=first,
        )

    def start(self) -> None:
        """Starts the periodic jobs in a background thread; the first tick runs at once."""
        if self._scheduler is not None:
            return
        # One INFO line per tick would drown the log: APScheduler reports problems only.
        logging.getLogger("apscheduler").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
        self._scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
        now = datetime.now(UTC)  # APScheduler runs on real time, whatever the clock says
        self._add(self.tick, "plantsync-tick", self.settings.scheduler_tick_seconds, now)
        self._add(
            self.check_stalled,
            "plantsync-stalled",
            self.settings.stalled_check_seconds,
            now + timedelta(seconds=min(1.0, self.settings.stalled_check_seconds)),
        )
        self._add(self.prune, "plantsync-prune", PRUNE_EVERY.total_seconds(), now + PRUNE_EVERY)
        self._scheduler.start()

    def stop(self) -> None:
        """Stops the jobs (a tick in progress finishes) and gives up leadership."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self.leader is not None:
            self.leader.release()
        self.leading_since = None
        if self.queue is not None:
            self.queue.close()

    def state(self) -> dict[str, Any]:
        """What ``/readyz`` and ``plantsync scheduler`` report about this instance."""
        return {
            "role": self.role,
            "leading_since": self.leading_since.isoformat() if self.leading_since else None,
            "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
            "runs_requested": self.runs_requested,
            "last_error": self.last_error,
        }
