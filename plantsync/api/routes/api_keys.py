"""``/api/v1/api-keys``: long-lived keys of service accounts for devices (admins only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

from plantsync.api.deps import Admin, ClockDep, ReadSession, WriteSession
from plantsync.core.models.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import api_keys

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.get("", response_model=Page[ApiKeyPublic])
def list_api_keys(
    caller: Admin,
    session: ReadSession,
    service_account_id: uuid.UUID | None = None,
    include_revoked: bool = False,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[ApiKeyPublic]:
    """The tenant's API keys, newest first (the keys themselves are never shown again)."""
    return api_keys.list_api_keys(
        session=session, tenant_id=caller.tenant_id, service_account_id=service_account_id,
        include_revoked=include_revoked, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyCreate, caller: Admin, session: WriteSession, clock: ClockDep
) -> ApiKeyCreated:
    """Create a key for a service account; ``key`` is in this response only, never again."""
    return api_keys.create_api_key(
        session=session, tenant_id=caller.tenant_id, data=body, actor=caller, clock=clock
    )


@router.delete("/{key_id}", response_model=ApiKeyPublic)
def revoke_api_key(
    key_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep
) -> ApiKeyPublic:
    """Revoke a key: it stops working at once."""
    return api_keys.revoke_api_key(
        session=session, tenant_id=caller.tenant_id, key_id=key_id, actor=caller, clock=clock
    )
