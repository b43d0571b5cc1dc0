"""Creating, updating and archiving connections (field rules that depend on the provider)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, delete, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.models.connections import (
    ConnectionCreate,
    ConnectionUpdate,
    SyncEntity,
    TLSSettings,
)
from plantsync.core.models.integration import (
    MAX_CONNECTIONS_PER_TENANT,
    Connection,
    ExternalLink,
    SyncCursor,
    SyncLog,
    SyncStatus,
)
from plantsync.core.models.tenancy import Tenant
from plantsync.core.principal import Principal
from plantsync.core.services.audit import record_audit
from plantsync.core.services.connections.read import get_connection
from plantsync.core.services.connections.secrets import (
    decrypt_auth_config,
    store_auth_config,
    validate_auth_config,
)
from plantsync.core.sync import connector_class, supported_pairs
from plantsync.entities import Direction
from plantsync.errors import ConflictError, ValidationError
from plantsync.mappings.overrides import validate_field_mappings


class FieldConflictError(ConflictError):
    """A 409 that names the field (``errors``), like a ``ValidationError`` does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.errors = {field: [message]}


def _check_sync_entities(provider: str, entities: Sequence[SyncEntity] | None) -> list[SyncEntity]:
    allowed = supported_pairs(provider)
    if entities is None:
        return [SyncEntity(direction=p.direction, entity_type=p.entity) for p in allowed]
    allowed_names = {str(p) for p in allowed}
    errors: dict[str, list[str]] = {}
    seen: list[SyncEntity] = []
    for i, e in enumerate(entities):
        name = f"{e.direction.value}:{e.entity_type.value}"
        if name not in allowed_names:
            errors[f"sync_entities.{i}"] = [
                f"{provider} cannot sync {name}; allowed: {', '.join(sorted(allowed_names))}"
            ]
        elif e not in seen:
            seen.append(e)
    if errors:
        raise ValidationError(errors)
    return seen


def _check_name_free(
    session: Session, tenant_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> None:
    query = select(Connection.id).where(
        Connection.tenant_id == tenant_id,
        Connection.name == name,
        col(Connection.archived_at).is_(None),
    )
    if exclude is not None:
        query = query.where(Connection.id != exclude)
    if session.exec(query).first() is not None:
        raise FieldConflictError("name", f"A connection named {name!r} already exists")


def _lock_tenant(session: Session, tenant_id: uuid.UUID) -> None:
    # Serialises creates per tenant on PostgreSQL so the limit of 10 holds under concurrency
    # (SQLite write sessions already hold the database's write lock).
    session.exec(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update()).first()


def create_connection(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: ConnectionCreate,
    principal: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> Connection:
    """Validates, stores (secrets encrypted), audits and commits a new connection.

    Raises:
        ValidationError: a bad provider, auth_config key, field mapping or sync entity.
        ConflictError: the name is taken, or the tenant has 10 connections already.
    """
    connector_class(data.provider)
    auth = validate_auth_config(data.provider, data.auth_config)
    mappings = validate_field_mappings(data.field_mappings, provider=data.provider)
    entities = _check_sync_entities(data.provider, data.sync_entities)
    _lock_tenant(session, tenant_id)
    _check_name_free(session, tenant_id, data.name)
    count = session.exec(
        select(func.count())
        .select_from(Connection)
        .where(Connection.tenant_id == tenant_id, col(Connection.archived_at).is_(None))
    ).one()
    if count >= MAX_CONNECTIONS_PER_TENANT:
        raise ConflictError(
            f"This tenant has {count} connections, the most allowed is "
            f"{MAX_CONNECTIONS_PER_TENANT}: delete one first"
        )
    now = clock.now()
    tls = data.tls or TLSSettings()
    conn = Connection(
        tenant_id=tenant_id,
        name=data.name,
        provider=data.provider,
        base_url=data.base_url,
        auth_config_encrypted="",
        tls_verify=tls.verify,
        tls_ca_bundle_pem=tls.ca_bundle_pem,
        sync_interval_minutes=data.sync_interval_minutes,
        is_active=data.is_active,
        field_mappings=mappings,
        sync_entities=[e.model_dump(mode="json") for e in entities],
        outbound_start_from=data.outbound_start_from or now,
        created_at=now,
        updated_at=now,
    )
    store_auth_config(conn, auth, settings)
    session.add(conn)
    record_audit(
        session=session,
        principal=principal,
        action="connection.create",
        target_type="connection",
        target_id=conn.id,
        details={"name": conn.name, "provider": conn.provider, "base_url": conn.base_url},
        clock=clock,
    )
    session.commit()
    return conn


def _links_exist(session: Session, connection_id: uuid.UUID) -> bool:
    query = select(ExternalLink.id).where(ExternalLink.connection_id == connection_id).limit(1)
    return session.exec(query).first() is not None


def _apply_update(
    session: Session, conn: Connection, data: ConnectionUpdate, settings: Settings
) -> list[str]:
    given = data.model_fields_set - {"reset_links"}
    if "provider" in given and data.provider != conn.provider:
        raise ValidationError.single("provider", "cannot change after creation")
    changed: list[str] = []
    for name in ("name", "sync_interval_minutes", "is_active", "outbound_start_from"):
        value = getattr(data, name)
        if name in given and value is not None and value != getattr(conn, name):
            if name == "name":
                _check_name_free(session, conn.tenant_id, value, exclude=conn.id)
            if name == "outbound_start_from" and value < conn.outbound_start_from:
                _rewind_outbound(session, conn.id)
            setattr(conn, name, value)
            changed.append(name)
    if "base_url" in given and data.base_url and data.base_url != conn.base_url:
        _change_base_url(session, conn, data.base_url, reset_links=data.reset_links)
        changed.append("base_url")
    if "auth_config" in given and data.auth_config is not None:
        merged = {**decrypt_auth_config(conn, settings), **data.auth_config}
        store_auth_config(conn, validate_auth_config(conn.provider, merged), settings)
        changed.append("auth_config")
    if "field_mappings" in given:
        conn.field_mappings = validate_field_mappings(data.field_mappings, provider=conn.provider)
        changed.append("field_mappings")
    if "tls" in given:
        tls = data.tls or TLSSettings()
        conn.tls_verify, conn.tls_ca_bundle_pem = tls.verify, tls.ca_bundle_pem
        changed.append("tls")
    if "sync_entities" in given:
        entities = _check_sync_entities(conn.provider, data.sync_entities)
        conn.sync_entities = [e.model_dump(mode="json") for e in entities]
        changed.append("sync_entities")
    return changed


def _rewind_outbound(session: Session, connection_id: uuid.UUID) -> None:
    """An earlier ``outbound_start_from`` is a backfill: the outbound marks already lie past
    the records it brings into the window, so they are dropped and the next outbound runs
    read the change feed from its start. Records already sent are not sent again (their
    links keep the hash of what was sent)."""
    session.exec(
        delete(SyncCursor).where(
            col(SyncCursor.connection_id) == connection_id,
            col(SyncCursor.direction) == Direction.outbound,
        )
    )


def _change_base_url(session: Session, conn: Connection, url: str, *, reset_links: bool) -> None:
    if _links_exist(session, conn.id):
        if not reset_links:
            raise FieldConflictError(
                "base_url",
                "This connection has links to records of the ERP at its current base_url; "
                "they would point at the wrong system. Send reset_links: true to drop them "
                "(the next runs then match records anew)",
            )
        session.exec(delete(ExternalLink).where(col(ExternalLink.connection_id) == conn.id))
        session.exec(delete(SyncCursor).where(col(SyncCursor.connection_id) == conn.id))
    conn.base_url = url


def update_connection(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    connection: str | uuid.UUID,
    data: ConnectionUpdate,
    principal: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> Connection:
    """Applies the given fields, audits the change (field names only) and commits.

    Raises:
        NotFoundError, ValidationError, ConflictError: see ``create_connection``; also 409 on a
            ``base_url`` change while links exist without ``reset_links``.
    """
    conn = get_connection(session=session, tenant_id=tenant_id, connection=connection)
    changed = _apply_update(session, conn, data, settings)
    if changed:
        conn.updated_at = clock.now()
        details: dict[str, Any] = {"changed": changed}
        if "base_url" in changed:
            details["base_url"] = conn.base_url
            details["links_reset"] = data.reset_links
        record_audit(
            session=session,
            principal=principal,
            action="connection.update",
            target_type="connection",
            target_id=conn.id,
            details=details,
            clock=clock,
        )
    session.commit()
    return conn


def delete_connection(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    connection: str | uuid.UUID,
    principal: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> Connection:
    """Archives the connection: inactive, hidden, name freed; its logs and links are kept.

    Pending runs are closed as ``skipped``.

    Raises:
        ConflictError: a run of this connection is in progress.
    """
    conn = get_connection(session=session, tenant_id=tenant_id, connection=connection)
    running = session.exec(
        select(SyncLog.id).where(
            SyncLog.connection_id == conn.id, SyncLog.status == SyncStatus.in_progress
        )
    ).first()
    if running is not None:
        raise ConflictError(
            f"A sync run of this connection is in progress (log {running}); "
            "delete the connection when it has finished"
        )
    now = clock.now()
    session.exec(
        update(SyncLog)
        .where(col(SyncLog.connection_id) == conn.id, col(SyncLog.status) == SyncStatus.pending)
        .values(status=SyncStatus.skipped, finished_at=now, message="The connection was deleted")
    )
    conn.archived_at = now
    conn.is_active = False
    conn.updated_at = now
    record_audit(
        session=session,
        principal=principal,
        action="connection.delete",
        target_type="connection",
        target_id=conn.id,
        details={"name": conn.name, "provider": conn.provider},
        clock=clock,
    )
    session.commit()
    return conn
