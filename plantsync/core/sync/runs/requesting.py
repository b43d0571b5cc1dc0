"""Asking for a run: ``request_sync`` (one pending or running log per connection, entity type and
direction, decided by the database's partial unique index) and ``retry_log``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.integration import (
    ACTIVE_STATUSES,
    SyncLog,
    SyncStatus,
    SyncTrigger,
)
from plantsync.core.principal import Principal
from plantsync.core.sync import check_pair
from plantsync.entities import Direction, EntityType
from plantsync.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError

# Local tables holding each outbound entity (``entity_id`` is one of their ids).
LOCAL_TABLES: Mapping[EntityType, tuple[str, ...]] = {
    EntityType.work_order: ("work_order", "workorder"),
    EntityType.downtime: ("downtime_event", "downtimeevent"),
    EntityType.production_data: ("production_run", "productionrun"),
}


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
    """A new run (``trigger=retry``) of a failed, partial or skipped run's entity (and record);
    an outbound retry also re-sends the records the ERP refused.

    Raises:
        ConflictError: the run is still pending/in progress or succeeded.
    """
    from plantsync.core.services.sync_logs import get_log

    original = get_log(session=session, tenant_id=tenant_id, log_id=log_id)
    if original.status not in (SyncStatus.failed, SyncStatus.partial, SyncStatus.skipped):
        raise ConflictError(
            "Only failed, partial or skipped runs can be retried; "
            f"this run is {original.status.value}"
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
