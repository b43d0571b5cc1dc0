"""Reading connections: one by id or name, the tenant's list, health, and the public shape."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from plantsync.core.clock import Clock
from plantsync.core.models.connections import (
    INSECURE_TLS_WARNING,
    ConnectionPublic,
    SyncEntity,
    TLSSettings,
)
from plantsync.core.models.integration import FINISHED_STATUSES, Connection, SyncLog, SyncStatus
from plantsync.core.services.sync_logs import schedule_for, summarize_schedule
from plantsync.errors import NotFoundError


def get_connection(
    *, session: Session, tenant_id: uuid.UUID, connection: str | uuid.UUID
) -> Connection:
    """A live connection of the tenant, by id or by name.

    Raises:
        NotFoundError: no such live connection in this tenant (archived ones are gone).
    """
    query = select(Connection).where(
        Connection.tenant_id == tenant_id, col(Connection.archived_at).is_(None)
    )
    ident: uuid.UUID | None = connection if isinstance(connection, uuid.UUID) else None
    if ident is None:
        try:
            ident = uuid.UUID(str(connection))
        except ValueError:
            ident = None
    if ident is not None:
        found = session.exec(query.where(Connection.id == ident)).first()
    else:
        found = session.exec(query.where(Connection.name == str(connection).strip())).first()
    if found is None:
        raise NotFoundError("Connection", connection)
    return found


def list_connections(*, session: Session, tenant_id: uuid.UUID) -> list[Connection]:
    """The tenant's live connections by name (at most ``MAX_CONNECTIONS_PER_TENANT``)."""
    query = select(Connection).where(
        Connection.tenant_id == tenant_id, col(Connection.archived_at).is_(None)
    )
    return list(session.exec(query.order_by(col(Connection.name), col(Connection.id))).all())


def consecutive_failures(*, session: Session, connection: Connection, limit: int) -> int:
    """How many of the connection's latest finished runs failed in a row (counted up to
    ``limit``); a success, a partial run (the ERP took some records) or a skip ends it."""
    statuses = session.exec(
        select(SyncLog.status)
        .where(
            SyncLog.tenant_id == connection.tenant_id,
            SyncLog.connection_id == connection.id,
            col(SyncLog.status).in_(FINISHED_STATUSES),
        )
        .order_by(col(SyncLog.created_at).desc())
        .limit(limit)
    ).all()
    streak = 0
    for status in statuses:
        if status != SyncStatus.failed:
            break
        streak += 1
    return streak


def degraded_threshold(degraded_after: int | None = None) -> int:
    """Consecutive failures that flag a connection degraded (default: the settings')."""
    if degraded_after is not None:
        return degraded_after
    from plantsync.core.config import get_settings

    return get_settings().degraded_after_failures


def to_public(
    *,
    session: Session,
    connection: Connection,
    clock: Clock,
    degraded_after: int | None = None,
) -> ConnectionPublic:
    """The connection as shown to callers: secrets replaced by the names of the keys set.

    ``degraded``: its last ``degraded_after`` runs (default: ``degraded_after_failures``)
    all failed.
    """
    threshold = degraded_threshold(degraded_after)
    failures = consecutive_failures(session=session, connection=connection, limit=threshold)
    schedule = schedule_for(session=session, connection=connection, clock=clock)
    last_sync_at, last_status, next_sync_at = summarize_schedule(schedule)
    return ConnectionPublic(
        id=connection.id,
        name=connection.name,
        provider=connection.provider,
        base_url=connection.base_url,
        auth_config_keys=sorted(connection.auth_config_keys),
        sync_interval_minutes=connection.sync_interval_minutes,
        is_active=connection.is_active,
        field_mappings=dict(connection.field_mappings),
        tls=TLSSettings(ca_bundle_pem=connection.tls_ca_bundle_pem, verify=connection.tls_verify),
        tls_verify_disabled=not connection.tls_verify,
        warnings=[] if connection.tls_verify else [INSECURE_TLS_WARNING],
        sync_entities=[SyncEntity.model_validate(e) for e in connection.sync_entities],
        outbound_start_from=connection.outbound_start_from,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        last_sync_at=last_sync_at,
        last_status=last_status,
        next_sync_at=next_sync_at,
        schedule=schedule,
        degraded=failures >= threshold,
        consecutive_failures=failures,
    )
