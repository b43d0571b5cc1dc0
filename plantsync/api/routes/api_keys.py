"""``/api/v1/api-keys``: long-lived keys of service accounts for devices (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from plantsync.api import docs
from plantsync.api.deps import Admin, ClockDep, ReadSession, WriteSession
from plantsync.api.routes import account_examples as ex
from plantsync.core.models.accounts import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import api_keys

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.get("", response_model=Page[ApiKeyPublic], responses=docs.answers(docs.page(ex.API_KEY)))
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


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.API_KEY_CREATED, 201, "Created: the key is shown this once")
    | docs.error(404, f"Service account {ex.SERVICE_ID} not found")
    | docs.error(409, "Service account 'MES line 1' is inactive"),
)
def create_api_key(
    body: Annotated[
        ApiKeyCreate, docs.body("An andon panel limited to one machine", ex.API_KEY_IN)
    ],
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
) -> ApiKeyCreated:
    """Create a key for a service account; ``key`` is in this response only, never again."""
    return api_keys.create_api_key(
        session=session, tenant_id=caller.tenant_id, data=body, actor=caller, clock=clock
    )


@router.delete("/{key_id}", response_model=ApiKeyPublic, responses=docs.answers(ex.API_KEY_REVOKED))
def revoke_api_key(
    key_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep
) -> ApiKeyPublic:
    """Revoke a key: it stops working at once."""
    return api_keys.revoke_api_key(
        session=session, tenant_id=caller.tenant_id, key_id=key_id, actor=caller, clock=clock
    )
