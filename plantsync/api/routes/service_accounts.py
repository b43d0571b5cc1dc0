"""``/api/v1/service-accounts``: credentials for system-to-system integrations (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from plantsync.api import docs
from plantsync.api.deps import Admin, ClockDep, ReadSession, SettingsDep, WriteSession
from plantsync.api.routes import account_examples as ex
from plantsync.core.models.accounts import (
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountPublic,
)
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import accounts

router = APIRouter(prefix="/api/v1/service-accounts", tags=["service accounts"])


@router.get(
    "", response_model=Page[ServiceAccountPublic], responses=docs.answers(docs.page(ex.SERVICE))
)
def list_service_accounts(
    caller: Admin,
    session: ReadSession,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[ServiceAccountPublic]:
    return accounts.list_service_accounts(
        session=session, tenant_id=caller.tenant_id, limit=limit, cursor=cursor
    )


@router.post(
    "",
    response_model=ServiceAccountCreated,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.SERVICE_CREATED, 201, "Created: the secret is shown this once")
    | docs.error(409, "A service account named 'MES line 1' already exists"),
)
def create_service_account(
    body: Annotated[ServiceAccountCreate, docs.body("An MES", ex.SERVICE_IN)],
    caller: Admin,
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> ServiceAccountCreated:
    """Create a service account; ``client_secret`` is in this response only, never again."""
    return accounts.create_service_account(
        session=session, tenant_id=caller.tenant_id, data=body, actor=caller,
        settings=settings, clock=clock,
    )  # fmt: skip


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_service_account(
    account_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep
) -> None:
    """Delete a service account, its API keys and its sessions."""
    accounts.delete_service_account(
        session=session, tenant_id=caller.tenant_id, ident=account_id, actor=caller, clock=clock
    )
