"""The life cycle of a sync run (a ``SyncLog`` row), safe across processes and both databases.

::

    request_sync ──> pending ──claim──> in_progress ──finish──> success | failed | skipped
                                         │  heartbeat renews the lease
                                         └─ lease expired ──expire_stale_leases──> failed

- ``request_sync`` inserts a ``pending`` log unless the same (connection, entity_type,
  direction) already has one pending or in progress — the database's partial unique index
  decides, so two concurrent triggers get one run: ``(log, True)`` for the new one,
  ``(existing, False)`` for the other.
- ``claim``/``claim_next`` move a log to ``in_progress`` with one conditional UPDATE
  (``WHERE status = 'pending'``): exactly one claimer sees a row count of 1.
- ``heartbeat`` renews the lease (and reports progress) only for the worker holding it;
  ``finish`` closes a run once; ``expire_stale_leases`` fails runs whose worker went silent.

Every function commits its own short transaction: pass a write session.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select, update

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.integration import (
    ACTIVE_STATUSES,
    MAX_RECORD_ERRORS_PER_RUN,
    SyncLog,
    SyncRecordError,
    SyncStatus,
    SyncTrigger,
)
from plantsync.core.principal import Principal
from plantsync.core.sync import check_pair
from plantsync.entities import Direction, EntityType
from plantsync.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError

DEFAULT_LEASE_SECONDS = 120
# Local tables holding each outbound entity (``entity_id`` is one of their ids).
LOCAL_TABLES: Mapping[EntityType, tuple[str, ...]] = {
    EntityType.work_order: ("work_order", "workorder"),
    EntityType.downtime: ("downtime_event", "downtimeevent"),
    EntityType.production_data: ("production_run", "productionrun"),
}


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


# --- requesting ------------------------------------------------------------------------------


def _check_entity_id(
    session: Session,
    tenant_id: uuid.UUID,
    entity_type: EntityType,
    direction: Direction,
    entity_id: str | None,
) -> str | None:
    if entity_id is None or not entity_id.strip():
        return None
    entity_id = entity_id.strip()
    if direction is Direction.inbound:
        if len(entity_id) > 200:
            raise ValidationError.single("entity_id", "an ERP key of at most 200 characters")
        return entity_id
    try:
        local_id = uuid.UUID(entity_id)
    except ValueError:
        raise ValidationError.single(
            "entity_id", "outbound syncs take the local UUID of the record"
        ) from None
    table = next(
        (
            SQLModel.metadata.tables[n]
            for n in LOCAL_TABLES[entity_type]
            if n in SQLModel.metadata.tables
        ),
        None,
    )
    if table is None:
        raise ConfigurationError(f"the plant model has no table for {entity_type.value}")
    found = session.execute(
        sa.select(table.c.id).where(table.c.id == local_id, table.c.tenant_id == tenant_id)
    ).first()
    if found is None:
        raise NotFoundError(entity_type.value.replace("_", " ").capitalize(), local_id)
    return str(local_id)


def active_run(
    session: Session, connection_id: uuid.UUID, entity_type: EntityType, direction: Direction
) -> SyncLog | None:
    """The pending or in-progress run of the pair, if any."""
    return session.exec(
        select(SyncLog).where(
            SyncLog.connection_id == connection_id,
            SyncLog.entity_type == entity_type,
            SyncLog.direction == direction,
            col(SyncLog.status).in_(ACTIVE_STATUSES),
        )
    ).first()


def request_sync(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID | str,
    direction: Direction,
    entity_type: EntityType,
    entity_id: str | None,
    trigger: SyncTrigger,
    principal: Principal | None,
    clock: Clock = SYSTEM_CLOCK,
    retry_of: SyncLog | None = None,
) -> tuple[SyncLog, bool]:
    """Asks for a run; returns ``(log, created)``.

    Raises:
        NotFoundError: no such live connection, or (outbound) no such local record.
        BadRequestError: the provider or the matrix does not allow the pair (names allowed ones).
        ValidationError: a malformed ``entity_id``.
    """
    from plantsync.core.services.connections import get_connection

    conn = get_connection(session=session, tenant_id=tenant_id, connection=connection_id)
    check_pair(conn.provider, entity_type, direction)
    entity_id = _check_entity_id(session, tenant_id, entity_type, direction, entity_id)
    for _ in range(5):
        existing = active_run(session, conn.id, entity_type, direction)
        if existing is not None:
            session.commit()
            return existing, False
        log = SyncLog(
            tenant_id=tenant_id,
            connection_id=conn.id,
            direction=direction,
            entity_type=entity_type,
            entity_id=entity_id,
            trigger=trigger,
            created_at=clock.now(),
            requested_by=principal.label if principal else None,
            retry_of_id=retry_of.id if retry_of else None,
            attempt=retry_of.attempt + 1 if retry_of else 1,
        )
        try:
            with session.begin_nested():
                session.add(log)
        except IntegrityError:
            continue  # another trigger won the race: fetch its log
        session.commit()
        return log, True
    raise ConflictError("The run could not be registered: too much contention, try again")


def retry_log(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    log_id: uuid.UUID,
    principal: Principal | None,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[SyncLog, bool]:
    """A new run (``trigger=retry``) of a failed or skipped run's entity (and record).

    Raises:
        ConflictError: the run is still pending/in progress or succeeded.
    """
    from plantsync.core.services.sync_logs import get_log

    original = get_log(session=session, tenant_id=tenant_id, log_id=log_id)
    if original.status not in (SyncStatus.failed, SyncStatus.skipped):
        raise ConflictError(
            f"Only failed or skipped runs can be retried; this run is {original.status.value}"
        )
    return request_sync(
        session=session,
        tenant_id=tenant_id,
        connection_id=original.connection_id,
        direction=original.direction,
        entity_type=original.entity_type,
        entity_id=original.entity_id,
        trigger=SyncTrigger.retry,
        principal=principal,
        clock=clock,
        retry_of=original,
    )


# --- claiming and running --------------------------------------------------------------------


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
