"""Stalled runs: find runs whose worker died, fail them with the reason, retry them per policy.

A worker renews the lease of each run it executes (``runs.heartbeat``, every third of
``sync_lease_seconds``), so a run on a live worker is never touched however long it takes.
When the lease expires the worker is gone (killed, host lost, hung): ``runs.expire_stale_leases``
marks the run ``failed`` with a message naming the worker and its last heartbeat, and this
module requests a ``retry`` run of the same entity (and record), at most
``sync_retry_attempts`` attempts in all, after ``sync_retry_delay_seconds`` (doubling per
attempt). Nothing stays ``in_progress`` forever.

Retries are found from the database, not from memory — an abandoned run that is still the
newest run of its pair — so a retry is neither lost when the checker itself dies between
failing and retrying, nor made twice: once requested, the retry is the newest run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.integration import Connection, SyncLog, SyncStatus, SyncTrigger
from plantsync.core.sync import runs
from plantsync.errors import PlantSyncError

log = logging.getLogger(__name__)

# Part of the message ``runs.expire_stale_leases`` gives an abandoned run (a unit test keeps
# the two in step); other failures are the run's own outcome and wait for the next schedule.
ABANDONED_MARK = "stopped renewing its lease"
# Abandoned runs older than this are history, not something to retry any more.
RETRY_HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (the first run counts); the n-th retry waits ``delay * 2**(n-1)``."""

    attempts: int = 3
    delay: timedelta = timedelta(seconds=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            attempts=settings.sync_retry_attempts,
            delay=timedelta(seconds=settings.sync_retry_delay_seconds),
        )

    def wait_after(self, attempt: int) -> timedelta:
        factor: int = 2 ** max(0, attempt - 1)
        return self.delay * factor


@dataclass(frozen=True)
class StalledReport:
    expired: list[SyncLog]
    retried: list[SyncLog]


def _is_newest(session: Session, run: SyncLog) -> bool:
    newer = session.exec(
        select(SyncLog.id)
        .where(
            SyncLog.connection_id == run.connection_id,
            SyncLog.entity_type == run.entity_type,
            SyncLog.direction == run.direction,
            col(SyncLog.created_at) > run.created_at,
        )
        .limit(1)
    ).first()
    return newer is None


def _candidates(session: Session, policy: RetryPolicy, clock: Clock) -> list[SyncLog]:
    now = clock.now()
    rows = session.exec(
        select(SyncLog).where(
            SyncLog.status == SyncStatus.failed,
            col(SyncLog.created_at) >= now - RETRY_HORIZON,
            col(SyncLog.attempt) < policy.attempts,
            col(SyncLog.message).contains(ABANDONED_MARK),
        )
    ).all()
    ready: list[SyncLog] = []
    for run in rows:
        finished = run.finished_at or run.created_at
        if finished + policy.wait_after(run.attempt) > now or not _is_newest(session, run):
            continue
        conn = session.get(Connection, run.connection_id)
        if conn is None or conn.archived_at is not None or not conn.is_active:
            continue
        ready.append(run)
    return ready


def retry_abandoned(
    database: Database,
    *,
    policy: RetryPolicy,
    clock: Clock = SYSTEM_CLOCK,
    guard: Callable[[], bool] = lambda: True,
) -> list[SyncLog]:
    """Requests a retry of every abandoned run that is due one; returns the new runs."""
    with database.read_session() as session:
        candidates = _candidates(session, policy, clock)
    retried: list[SyncLog] = []
    for original in candidates:
        if not guard():
            break
        try:
            with database.write_session() as session:
                run, created = runs.request_sync(
                    session=session, tenant_id=original.tenant_id,
                    connection_id=original.connection_id, direction=original.direction,
                    entity_type=original.entity_type, entity_id=original.entity_id,
                    trigger=SyncTrigger.retry, principal=None, clock=clock, retry_of=original,
                )  # fmt: skip
        except PlantSyncError as exc:
            log.info("stalled: run %s not retried: %s", original.id, exc.message)
            continue
        if created:
            log.warning(
                "stalled: run %s was abandoned by its worker; retry %s (attempt %d of %d)",
                original.id, run.id, run.attempt, policy.attempts,
            )  # fmt: skip
            retried.append(run)
    return retried


def check_stalled(
    database: Database,
    *,
    policy: RetryPolicy,
    clock: Clock = SYSTEM_CLOCK,
    guard: Callable[[], bool] = lambda: True,
) -> StalledReport:
    """Fails runs whose lease expired, then retries the abandoned runs that are due one."""
    with database.write_session() as session:
        expired = runs.expire_stale_leases(session=session, clock=clock)
    for run in expired:
        log.warning("stalled: run %s failed: %s", run.id, run.message)
    retried = retry_abandoned(database, policy=policy, clock=clock, guard=guard)
    return StalledReport(expired=expired, retried=retried)
