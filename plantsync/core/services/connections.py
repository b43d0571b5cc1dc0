"""ERP connections: create, read, update, archive, test, and the connector config of a run.

Shared by the API (``/erp/connections``) and the CLI (``plantsync connections``). Field rules
live in ``ConnectionCreate``/``ConnectionUpdate``; the provider-dependent ones (auth_config,
sync_entities, field_mappings) here. ``auth_config`` is validated by the provider's
``auth_model``, stored only as a ``SecretBox`` token, and never returned: responses carry
``auth_config_keys``, the names of the keys that are set. Nothing secret reaches the audit log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel, RootModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, update
from sqlmodel import Session, col, delete, select

from plantsync.connectors.base import ConnectionTestResult, ConnectorConfig
from plantsync.connectors.http import TLSConfig
from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.integration import (
    FINISHED_STATUSES,
    INSECURE_TLS_WARNING,
    MAX_CONNECTIONS_PER_TENANT,
    Connection,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionUpdate,
    ExternalLink,
    SyncCursor,
    SyncEntity,
    SyncLog,
    SyncStatus,
    TLSSettings,
)
from plantsync.core.models.tenancy import Tenant
from plantsync.core.principal import Principal
from plantsync.core.security import secret_box
from plantsync.core.services.audit import record_audit
from plantsync.core.services.sync_logs import schedule_for, summarize_schedule
from plantsync.core.sync import connector_class, supported_pairs
from plantsync.entities import Direction
from plantsync.errors import ConflictError, ConnectorError, NotFoundError, ValidationError
from plantsync.mappings.overrides import effective_resources, validate_field_mappings

_SECRET_WORDS = ("password", "secret", "token", "key")
_MASK = "********"


class FieldConflictError(ConflictError):
    """A 409 that names the field (``errors``), like a ``ValidationError`` does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.errors = {field: [message]}


# --- reading ---------------------------------------------------------------------------------


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
    ``limit``); a success or a skip ends the streak."""
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


# --- auth_config -----------------------------------------------------------------------------


def _auth_members(model: type[BaseModel]) -> list[type[BaseModel]]:
    if issubclass(model, RootModel):
        root = model.model_fields["root"].annotation
        members = [a for a in get_args(root) if isinstance(a, type) and issubclass(a, BaseModel)]
        return members or [model]
    return [model]


def _auth_key_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for member in _auth_members(model):
        for name, info in member.model_fields.items():
            names.add(info.alias or name)
    return names


def validate_auth_config(provider: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The auth config as stored (keys with a value), checked by the provider's ``auth_model``.

    Raises:
        ValidationError: naming ``auth_config.<key>`` for each unknown, missing or bad key;
            messages never quote a value.
    """
    model = connector_class(provider).auth_model
    known = _auth_key_names(model)
    clean = {str(k): v for k, v in values.items() if v is not None}
    errors: dict[str, list[str]] = {}
    for key in sorted(set(clean) - known):
        errors[f"auth_config.{key}"] = [f"unknown key; {provider} takes {', '.join(sorted(known))}"]
    if not errors:
        try:
            model.model_validate(clean)
        except PydanticValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                keys = [str(p) for p in err["loc"] if str(p) in known]
                where = f"auth_config.{keys[-1]}" if keys else "auth_config"
                errors.setdefault(where, []).append(str(err["msg"]))
    if errors:
        raise ValidationError(errors, "Invalid auth_config: " + ", ".join(sorted(errors)))
    return clean


def decrypt_auth_config(connection: Connection, settings: Settings) -> dict[str, Any]:
    """The stored auth config in clear text: for building a connector only, never to show."""
    data: dict[str, Any] = json.loads(
        secret_box(settings).decrypt(connection.auth_config_encrypted)
    )
    return data


def _store_auth(connection: Connection, values: Mapping[str, Any], settings: Settings) -> None:
    connection.auth_config_encrypted = secret_box(settings).encrypt(json.dumps(dict(values)))
    connection.auth_config_keys = sorted(values)


def secret_values(auth: Mapping[str, Any]) -> list[str]:
    """The values of secret-looking auth keys (to scrub them from any message we pass on)."""
    return [
        str(v)
        for k, v in auth.items()
        if any(w in k.lower() for w in _SECRET_WORDS) and v is not None and len(str(v)) >= 3
    ]


def scrub_text(text: str, secrets: Sequence[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, _MASK)
    return text


# --- writing ---------------------------------------------------------------------------------


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
    _store_auth(conn, auth, settings)
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
        _store_auth(conn, validate_auth_config(conn.provider, merged), settings)
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


# --- connectors ------------------------------------------------------------------------------


def connector_config(connection: Connection, settings: Settings) -> ConnectorConfig:
    """What a connector is built from: decrypted credentials, TLS trust, effective resources."""
    auth_model = connector_class(connection.provider).auth_model
    return ConnectorConfig(
        provider=connection.provider,
        base_url=connection.base_url,
        auth=auth_model.model_validate(decrypt_auth_config(connection, settings)),
        resources=effective_resources(connection.provider, connection.field_mappings),
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        tls=TLSConfig(ca_bundle_pem=connection.tls_ca_bundle_pem, verify=connection.tls_verify),
    )


def test_connection(
    *,
    database: Database,
    tenant_id: uuid.UUID,
    connection: str | uuid.UUID,
    principal: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> ConnectionTestResult:
    """Runs the connector's own diagnostics against the ERP; audits the outcome (no secrets).

    No database transaction is held while the ERP answers.
    """
    from plantsync.connectors.registry import build_connector

    with database.read_session() as session:
        conn = get_connection(session=session, tenant_id=tenant_id, connection=connection)
        config = connector_config(conn, settings)
    secrets = secret_values(decrypt_auth_config(conn, settings))
    started = time.monotonic()
    try:
        with build_connector(config) as connector:
            result = connector.test()
    except ConnectorError as exc:
        latency = int((time.monotonic() - started) * 1000)
        result = ConnectionTestResult(success=False, latency_ms=latency, message=exc.message)
    result = ConnectionTestResult(
        success=result.success,
        latency_ms=result.latency_ms,
        message=scrub_text(result.message, secrets),
    )
    with database.write_session() as session:
        record_audit(
            session=session,
            principal=principal,
            action="connection.test",
            target_type="connection",
            target_id=conn.id,
            details={"success": result.success, "latency_ms": result.latency_ms},
            clock=clock,
        )
    return result
