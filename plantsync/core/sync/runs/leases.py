"""A run in progress: claimed with one conditional UPDATE, kept alive by ``heartbeat``, closed by
``finish``, and failed by ``expire_stale_leases`` when its worker went silent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select, update

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.integration import (
    ACTIVE_STATUSES,
    MAX_RECORD_ERRORS_PER_RUN,
    SyncLog,
    SyncRecordError,
    SyncStatus,
)
from plantsync.errors import ConflictError, NotFoundError

DEFAULT_LEASE_SECONDS = 120


@dataclass(frozen=True)
class RunCounts:
    read: int = 0
    written: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class RecordFailure:
    """One record that failed in a run (stored as a ``SyncRecordError``)."""

    code: str
    message: str
    local_id: str | None = None
    erp_key: str | None = None


def claim(
    log_id: uuid.UUID,
    *,
    session: Session,
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    clock: Clock = SYSTEM_CLOCK,
) -> SyncLog | None:
    """Moves a ``pending`` log to ``in_progress`` for ``worker_id``; None if another got it."""
    now = clock.now()
    result = session.exec(
        update(SyncLog)
        .where(col(SyncLog.id) == log_id, col(SyncLog.status) == SyncStatus.pending)
        .values(
            status=SyncStatus.in_progress,
            worker_id=worker_id,
            started_at=now,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
        )
    )
    session.commit()
    if result.rowcount != 1:
        return None
    return _reload(session, log_id)


def claim_next(
    *,
    session: Session,
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    clock: Clock = SYSTEM_CLOCK,
) -> SyncLog | None:
    """Claims the oldest pending log (trying the next ones when others win); None if none."""
    candidates = session.exec(
        select(SyncLog.id)
        .where(SyncLog.status == SyncStatus.pending)
        .order_by(col(SyncLog.created_at))
        .limit(10)
    ).all()
    session.commit()
    for log_id in candidates:
        log = claim(
            log_id, session=session, worker_id=worker_id, lease_seconds=lease_seconds, clock=clock
        )
        if log is not None:
            return log
    return None


def heartbeat(
    log_id: uuid.UUID,
    *,
    session: Session,
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    clock: Clock = SYSTEM_CLOCK,
    progress: Mapping[str, Any] | None = None,
    counts: RunCounts | None = None,
) -> bool:
    """Renews the lease (and stores progress/counts). False: the run is no longer this
    worker's (finished, or failed for an expired lease) — stop working on it."""
    now = clock.now()
    values: dict[str, Any] = {
        "heartbeat_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
    }
    if progress is not None:
        values["progress"] = dict(progress)
    if counts is not None:
        values.update(_count_values(counts))
    result = session.exec(
        update(SyncLog)
        .where(
            col(SyncLog.id) == log_id,
            col(SyncLog.status) == SyncStatus.in_progress,
            col(SyncLog.worker_id) == worker_id,
        )
        .values(**values)
    )
    session.commit()
    return result.rowcount == 1


def _count_values(counts: RunCounts) -> dict[str, int]:
    return {
        "records_read": counts.read,
        "records_written": counts.written,
        "records_failed": counts.failed,
        "records_skipped": counts.skipped,
    }


def add_record_errors(
    log_id: uuid.UUID,
    errors: Sequence[RecordFailure],
    *,
    session: Session,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Stores record errors (up to ``MAX_RECORD_ERRORS_PER_RUN`` per run) and counts them all."""
    if not errors:
        return
    log = _reload(session, log_id)
    stored = session.exec(
        select(func.count()).select_from(SyncRecordError).where(SyncRecordError.log_id == log_id)
    ).one()
    room = max(0, MAX_RECORD_ERRORS_PER_RUN - stored)
    now = clock.now()
    for i, err in enumerate(errors[:room]):
        session.add(
            SyncRecordError(
                tenant_id=log.tenant_id,
                log_id=log_id,
                seq=stored + i,
                local_id=err.local_id,
                erp_key=err.erp_key,
                code=err.code[:100],
                message=err.message,
                created_at=now,
            )
        )
    session.exec(
        update(SyncLog)
        .where(col(SyncLog.id) == log_id)
        .values(errors_total=SyncLog.errors_total + len(errors))
    )
    session.commit()


def finish(
    log_id: uuid.UUID,
    status: SyncStatus,
    counts: RunCounts,
    message: str | None,
    errors: Sequence[RecordFailure] = (),
    *,
    session: Session,
    clock: Clock = SYSTEM_CLOCK,
    worker_id: str | None = None,
) -> SyncLog:
    """Closes a run with its final status, counts, message and (remaining) record errors.

    Raises:
        ValueError: ``status`` is not a final status.
        ConflictError: the run was already closed (e.g. failed for an expired lease) or,
            with ``worker_id``, belongs to another worker.
    """
    if not status.finished:
        raise ValueError(f"{status.value} is not a final status")
    now = clock.now()
    log = _reload(session, log_id)
    started = log.started_at or now
    conditions = [col(SyncLog.id) == log_id, col(SyncLog.status).in_(ACTIVE_STATUSES)]
    if worker_id is not None:
        conditions.append(col(SyncLog.worker_id) == worker_id)
    result = session.exec(
        update(SyncLog)
        .where(*conditions)
        .values(
            status=status,
            started_at=started,
            finished_at=now,
            duration_ms=max(0, int((now - started).total_seconds() * 1000)),
            message=message,
            lease_expires_at=None,
            progress=None,
            **_count_values(counts),
        )
    )
    session.commit()
    if result.rowcount != 1:
        current = _reload(session, log_id)
        raise ConflictError(f"Sync run {log_id} is already {current.status.value}")
    add_record_errors(log_id, errors, session=session, clock=clock)
    return _reload(session, log_id)


def expire_stale_leases(*, session: Session, clock: Clock = SYSTEM_CLOCK) -> list[SyncLog]:
    """Fails every ``in_progress`` run whose lease expired (its worker died or hung).

    A live worker renews its lease, so its runs are never touched however long they take.
    """
    now = clock.now()
    stale = session.exec(
        select(SyncLog).where(
            SyncLog.status == SyncStatus.in_progress, col(SyncLog.lease_expires_at) < now
        )
    ).all()
    expired: list[SyncLog] = []
    for log in stale:
        started = log.started_at or now
        message = (
            f"The worker {log.worker_id or '?'} stopped renewing its lease "
            f"(last heartbeat {log.heartbeat_at.isoformat() if log.heartbeat_at else 'never'}); "
            "the run was abandoned. What it committed is kept; the next run continues from there."
        )
        result = session.exec(
            update(SyncLog)
            .where(
                col(SyncLog.id) == log.id,
                col(SyncLog.status) == SyncStatus.in_progress,
                col(SyncLog.lease_expires_at) < now,
            )
            .values(
                status=SyncStatus.failed,
                finished_at=now,
                duration_ms=max(0, int((now - started).total_seconds() * 1000)),
                message=message,
                lease_expires_at=None,
                progress=None,
            )
        )
        if result.rowcount == 1:
            expired.append(log)
    session.commit()
    return [_reload(session, log.id) for log in expired]


def _reload(session: Session, log_id: uuid.UUID) -> SyncLog:
    log = session.get(SyncLog, log_id, populate_existing=True)
    if log is None:
        raise NotFoundError("Sync log", log_id)
    return log
