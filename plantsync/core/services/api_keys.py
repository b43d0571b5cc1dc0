"""API keys: long-lived, revocable keys of a service account for devices that cannot run a
token flow (andon panels, PLC gateways). Sent as ``X-API-Key``; stored as a SHA-256 digest and
shown once. Each key is limited to a role (at most its account's) and optionally to machines.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.accounts import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ServiceAccount,
)
from plantsync.core.paging import Page, check_limit, decode_cursor, encode_cursor, keyset_after
from plantsync.core.principal import Principal, PrincipalKind, Role
from plantsync.core.security import new_token, token_digest
from plantsync.core.services.accounts import get_service_account
from plantsync.core.services.audit import record_audit
from plantsync.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError

KEY_PREFIX = "psk_"
SHOWN_PREFIX_LENGTH = 12


def create_api_key(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: ApiKeyCreate,
    actor: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> ApiKeyCreated:
    """Creates a key; the returned ``key`` is never retrievable again.

    Raises:
        NotFoundError: no such service account in the tenant.
        ValidationError: the role exceeds the account's (``role``), or ``expires_at`` is past.
        ConflictError: the service account is inactive.
    """
    account = get_service_account(
        session=session, tenant_id=tenant_id, ident=data.service_account_id
    )
    if not account.is_active:
        raise ConflictError(f"Service account {account.name!r} is inactive")
    if not Role(account.role).allows(data.role):
        raise ValidationError.single(
            "role", f"cannot exceed the service account's role ({Role(account.role).value})"
        )
    now = clock.now()
    if data.expires_at is not None and data.expires_at <= now:
        raise ValidationError.single("expires_at", "must be in the future")
    key = new_token(KEY_PREFIX)
    machines = None if data.machine_ids is None else sorted({str(m) for m in data.machine_ids})
    row = ApiKey(
        tenant_id=tenant_id,
        service_account_id=account.id,
        name=data.name.strip(),
        key_prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=token_digest(key),
        role=data.role,
        machine_ids=machines,
        created_at=now,
        expires_at=data.expires_at,
    )
    session.add(row)
    record_audit(
        session=session, principal=actor, action="api_key.create", target_type="api_key",
        target_id=row.id, clock=clock,
        details={"name": row.name, "service_account": account.client_id, "role": data.role.value,
                 "machine_ids": machines, "prefix": row.key_prefix},
    )  # fmt: skip
    session.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


def list_api_keys(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    service_account_id: uuid.UUID | None = None,
    include_revoked: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ApiKeyPublic]:
    """The tenant's keys (never the key itself), newest first, keyset-paged."""
    size = check_limit(limit)
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if service_account_id is not None:
        query = query.where(ApiKey.service_account_id == service_account_id)
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    order: list[Any] = [col(ApiKey.created_at), col(ApiKey.id)]
    if cursor:
        query = query.where(keyset_after(order, decode_cursor(cursor, 2), descending=True))
    rows = session.exec(query.order_by(*(c.desc() for c in order)).limit(size + 1)).all()
    last = rows[size - 1] if len(rows) > size else None
    nxt = encode_cursor([last.created_at, last.id]) if last else None
    return Page(items=[ApiKeyPublic.model_validate(r) for r in rows[:size]], next_cursor=nxt)


def revoke_api_key(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    key_id: uuid.UUID,
    actor: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> ApiKeyPublic:
    """Revokes a key (idempotent: revoking a revoked key changes nothing).

    Raises:
        NotFoundError: no such key in the tenant.
    """
    row = session.get(ApiKey, key_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFoundError("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.add(row)
        record_audit(
            session=session, principal=actor, action="api_key.revoke", target_type="api_key",
            target_id=row.id, details={"name": row.name, "prefix": row.key_prefix}, clock=clock,
        )  # fmt: skip
        session.commit()
    return ApiKeyPublic.model_validate(row)


def authenticate_api_key(*, session: Session, key: str, clock: Clock = SYSTEM_CLOCK) -> Principal:
    """The principal of a valid ``X-API-Key``: its role is the lesser of the key's and account's.

    Raises:
        AuthenticationError: unknown, revoked or expired key, or an inactive account.
    """
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == token_digest(key))).first()
    now = clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise AuthenticationError("The API key is invalid, expired or revoked")
    account = session.get(ServiceAccount, row.service_account_id)
    if account is None or not account.is_active:
        raise AuthenticationError("The API key's service account is inactive")
    role = min(Role(row.role), Role(account.role), key=lambda r: r.rank)
    machines = None if row.machine_ids is None else frozenset(uuid.UUID(m) for m in row.machine_ids)
    return Principal(
        kind=PrincipalKind.api_key,
        subject_id=row.id,
        tenant_id=row.tenant_id,
        role=role,
        label=f"{row.name} ({row.key_prefix}…)",
        machine_ids=machines,
    )
