"""Sync logs: listing (filters, newest first, keyset pages), one log with its record errors,
each connection's schedule (last run and next due time per entity), and retention pruning.

``schedule_for``/``next_sync_at`` are the one computation of "when is this pair due": the
connection API shows it and the scheduler runs by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, delete, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.connections import ScheduleEntry, SyncEntity
from plantsync.core.models.integration import (
    FINISHED_STATUSES,
    Connection,
    SyncLog,
    SyncRecordError,
    SyncStatus,
    SyncTrigger,
)
from plantsync.core.paging import Page, check_limit, decode_cursor, encode_cursor, keyset_after
from plantsync.entities import Direction, EntityType
from plantsync.errors import NotFoundError, ValidationError

API_PREFIX = "/api/v1"
PRUNE_BATCH = 1000


class SyncLogPublic(BaseModel):
    """One run as ``GET /erp/logs`` lists it; ``progress`` is set while it runs."""

    id: uuid.UUID
    url: str
    connection_id: uuid.UUID
    direction: Direction
    entity_type: EntityType
    entity_id: str | None
    trigger: SyncTrigger
    status: SyncStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    records_read: int
    records_written: int
    records_failed: int
    records_skipped: int
    message: str | None
    progress: dict[str, Any] | None
    retry_of: uuid.UUID | None
    attempt: int
    requested_by: str | None


class SyncRecordErrorPublic(BaseModel):
    local_id: str | None
    erp_key: str | None
    code: str
    message: str
    created_at: datetime


class SyncLogDetail(SyncLogPublic):
    """``GET /erp/logs/{id}``: the run and its per-record errors (stored up to a cap)."""

    errors_total: int
    errors_truncated: bool
    errors: list[SyncRecordErrorPublic]


class LogFilters(BaseModel):
    connection_id: uuid.UUID | None = None
    status: SyncStatus | None = None
    direction: Direction | None = None
    entity_type: EntityType | None = None
    from_: datetime | None = None
    to: datetime | None = None


def log_url(log_id: uuid.UUID) -> str:
    return f"{API_PREFIX}/erp/logs/{log_id}"


def log_public(log: SyncLog) -> SyncLogPublic:
    return SyncLogPublic(**_log_fields(log))


def _log_fields(log: SyncLog) -> dict[str, Any]:
    return {
        "id": log.id,
        "url": log_url(log.id),
        "connection_id": log.connection_id,
        "direction": log.direction,
        "entity_type": log.entity_type,
        "entity_id": log.entity_id,
        "trigger": log.trigger,
        "status": log.status,
        "created_at": log.created_at,
        "started_at": log.started_at,
        "finished_at": log.finished_at,
        "duration_ms": log.duration_ms,
        "records_read": log.records_read,
        "records_written": log.records_written,
        "records_failed": log.records_failed,
        "records_skipped": log.records_skipped,
        "message": log.message,
        "progress": log.progress if log.status == SyncStatus.in_progress else None,
        "retry_of": log.retry_of_id,
        "attempt": log.attempt,
        "requested_by": log.requested_by,
    }


def get_log(*, session: Session, tenant_id: uuid.UUID, log_id: uuid.UUID) -> SyncLog:
    log = session.get(SyncLog, log_id)
    if log is None or log.tenant_id != tenant_id:
        raise NotFoundError("Sync log", log_id)
    return log


def get_log_detail(*, session: Session, tenant_id: uuid.UUID, log_id: uuid.UUID) -> SyncLogDetail:
    """The log with its stored record errors, in the order they happened."""
    log = get_log(session=session, tenant_id=tenant_id, log_id=log_id)
    rows = session.exec(
        select(SyncRecordError)
        .where(SyncRecordError.log_id == log.id)
        .order_by(col(SyncRecordError.seq))
    ).all()
    errors = [SyncRecordErrorPublic.model_validate(r, from_attributes=True) for r in rows]
    return SyncLogDetail(
        **_log_fields(log),
        errors_total=max(log.errors_total, len(errors)),
        errors_truncated=log.errors_total > len(errors),
        errors=errors,
    )


def _filter_clauses(tenant_id: uuid.UUID, f: LogFilters) -> list[ColumnElement[bool]]:
    if f.from_ and f.to and f.from_ > f.to:
        raise ValidationError.single("from", "must not be after 'to'")
    clauses: list[ColumnElement[bool]] = [col(SyncLog.tenant_id) == tenant_id]
    for name in ("connection_id", "status", "direction", "entity_type"):
        value = getattr(f, name)
        if value is not None:
            clauses.append(getattr(SyncLog, name) == value)
    if f.from_ is not None:
        clauses.append(col(SyncLog.created_at) >= f.from_)
    if f.to is not None:
        clauses.append(col(SyncLog.created_at) < f.to)
    return clauses


def list_logs(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    filters: LogFilters | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SyncLogPublic]:
    """The tenant's logs, newest first (by ``created_at``, then id), one keyset page.

    ``from`` is inclusive and ``to`` exclusive, both on the time the run was requested.
    """
    size = check_limit(limit)
    order: list[Any] = [col(SyncLog.created_at), col(SyncLog.id)]
    query = select(SyncLog).where(*_filter_clauses(tenant_id, filters or LogFilters()))
    if cursor:
        query = query.where(keyset_after(order, decode_cursor(cursor, 2), descending=True))
    rows = session.exec(query.order_by(*(c.desc() for c in order)).limit(size + 1)).all()
    next_cursor = None
    if len(rows) > size:
        next_cursor = encode_cursor([rows[size - 1].created_at, rows[size - 1].id])
    return Page(items=[log_public(r) for r in rows[:size]], next_cursor=next_cursor)


def connection_logs(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    filters: LogFilters,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SyncLogPublic]:
    """``list_logs`` of one connection; 404 when it is not the tenant's (archived ones count:
    their logs stay readable)."""
    conn = session.get(Connection, filters.connection_id) if filters.connection_id else None
    if conn is None or conn.tenant_id != tenant_id:
        raise NotFoundError("connection", filters.connection_id)
    return list_logs(
        session=session, tenant_id=tenant_id, filters=filters, limit=limit, cursor=cursor
    )


# --- schedule --------------------------------------------------------------------------------


def next_sync_at(
    *,
    connection: Connection,
    last_run_at: datetime | None,
    now: datetime,
    minute: timedelta = timedelta(minutes=1),
) -> datetime | None:
    """When the pair is next due: the last run's request time + the interval.

    A pair that never ran is due now (its connection's creation time when that is later
    than nothing). An inactive connection is never due (None). Jitter is the scheduler's
    (``plantsync.scheduler.due``). ``minute`` is one interval minute (shortened only in tests).
    """
    if not connection.is_active or connection.archived_at is not None:
        return None
    if last_run_at is None:
        return min(connection.created_at, now)
    return last_run_at + minute * connection.sync_interval_minutes


def last_run(session: Session, connection_id: uuid.UUID, pair: SyncEntity) -> SyncLog | None:
    """The most recently requested run of the pair (any status)."""
    query = (
        select(SyncLog)
        .where(
            SyncLog.connection_id == connection_id,
            SyncLog.entity_type == pair.entity_type,
            SyncLog.direction == pair.direction,
        )
        .order_by(col(SyncLog.created_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def schedule_for(
    *,
    session: Session,
    connection: Connection,
    clock: Clock = SYSTEM_CLOCK,
    minute: timedelta = timedelta(minutes=1),
) -> list[ScheduleEntry]:
    """One entry per ``sync_entities`` pair: last run, its status, and next due time."""
    now = clock.now()
    entries: list[ScheduleEntry] = []
    for raw in connection.sync_entities:
        pair = SyncEntity.model_validate(raw)
        log = last_run(session, connection.id, pair)
        entries.append(
            ScheduleEntry(
                entity_type=pair.entity_type,
                direction=pair.direction,
                last_sync_at=(log.started_at or log.created_at) if log else None,
                last_status=log.status if log else None,
                last_log_id=log.id if log else None,
                next_sync_at=next_sync_at(
                    connection=connection,
                    last_run_at=log.created_at if log else None,
                    now=now,
                    minute=minute,
                ),
            )
        )
    return entries


def summarize_schedule(
    entries: Sequence[ScheduleEntry],
) -> tuple[datetime | None, SyncStatus | None, datetime | None]:
    """The connection-level (last_sync_at, last_status, next_sync_at) of its entries."""
    ran = [e for e in entries if e.last_sync_at is not None]
    latest = max(ran, key=lambda e: e.last_sync_at or datetime.min) if ran else None
    due = [e.next_sync_at for e in entries if e.next_sync_at is not None]
    return (
        latest.last_sync_at if latest else None,
        latest.last_status if latest else None,
        min(due) if due else None,
    )


# --- retention -------------------------------------------------------------------------------


def prune_logs(*, session: Session, retention_days: int, clock: Clock = SYSTEM_CLOCK) -> int:
    """Deletes finished logs (and their record errors) requested before the retention window.

    Works in batches so a large backlog never holds one huge transaction; commits each batch.
    Runs still pending or in progress are never pruned. Returns the number of logs deleted.
    """
    if retention_days < 1:
        raise ValidationError.single("retention_days", "must be at least 1")
    cutoff = clock.now() - timedelta(days=retention_days)
    total = 0
    while True:
        ids = list(
            session.exec(
                select(SyncLog.id)
                .where(
                    col(SyncLog.created_at) < cutoff,
                    col(SyncLog.status).in_(FINISHED_STATUSES),
                )
                .limit(PRUNE_BATCH)
            ).all()
        )
        if not ids:
            return total
        session.exec(delete(SyncRecordError).where(col(SyncRecordError.log_id).in_(ids)))
        # A retry points at its original: detach before the original goes.
        session.exec(
            SyncLog.__table__.update()  # type: ignore[attr-defined]
            .where(col(SyncLog.retry_of_id).in_(ids))
            .values(retry_of_id=None)
        )
        session.exec(delete(SyncLog).where(col(SyncLog.id).in_(ids)))
        session.commit()
        total += len(ids)
