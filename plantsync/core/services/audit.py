"""The audit log: ``record_audit`` for every change to accounts, keys, connections, mappings.

Details never hold a secret: keys that name one (password, secret, token, key material,
auth config) are dropped before anything is written, whatever the caller passed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.audit import AuditEntry, AuditEntryPublic
from plantsync.core.paging import Page, check_limit, decode_cursor, encode_cursor, keyset_after
from plantsync.core.principal import Principal

_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "auth_config", "credential")
_SECRET_EXACT = {"key", "key_hash", "secret_hash", "password_hash", "authorization"}


def _is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_EXACT or any(word in lowered for word in _SECRET_WORDS)


def scrub(details: Any) -> Any:
    """``details`` with every secret-looking key removed (recursively), JSON-safe values."""
    if isinstance(details, dict):
        return {str(k): scrub(v) for k, v in details.items() if not _is_secret_key(str(k))}
    if isinstance(details, list | tuple | set | frozenset):
        return [scrub(v) for v in details]
    if isinstance(details, uuid.UUID | datetime):
        return str(details) if isinstance(details, uuid.UUID) else details.isoformat()
    if details is None or isinstance(details, str | int | float | bool):
        return details
    return str(details)


def record_audit(
    *,
    session: Session,
    principal: Principal,
    action: str,
    target_type: str,
    target_id: str | uuid.UUID,
    details: dict[str, Any] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> AuditEntry:
    """Adds an audit entry to ``session`` (the caller's transaction commits it with the change).

    Args:
        principal: who acted; its tenant is the entry's tenant.
        action: what happened, ``<resource>.<verb>`` (e.g. ``user.create``).
        target_type / target_id: what it happened to.
        details: context (changed fields...); secret-looking keys are dropped.
    """
    entry = AuditEntry(
        tenant_id=principal.tenant_id,
        occurred_at=clock.now(),
        actor_kind=principal.kind.value,
        actor_id=principal.subject_id,
        actor_label=principal.label[:254],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=scrub(details or {}),
    )
    session.add(entry)
    return entry


def list_audit(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    limit: int | None = None,
    cursor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> Page[AuditEntryPublic]:
    """The tenant's audit entries, newest first, keyset-paged."""
    size = check_limit(limit)
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    order: list[Any] = [col(AuditEntry.occurred_at), col(AuditEntry.id)]
    if cursor:
        query = query.where(keyset_after(order, decode_cursor(cursor, 2), descending=True))
    rows = session.exec(query.order_by(*(c.desc() for c in order)).limit(size + 1)).all()
    items = [AuditEntryPublic.model_validate(r, from_attributes=True) for r in rows[:size]]
    next_cursor = (
        encode_cursor([rows[size - 1].occurred_at, rows[size - 1].id]) if len(rows) > size else None
    )
    return Page(items=items, next_cursor=next_cursor)
