"""``/api/v1/users``: the tenant's users (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from plantsync.api import docs
from plantsync.api.deps import Admin, ClockDep, ReadSession, SettingsDep, WriteSession
from plantsync.api.routes import account_examples as ex
from plantsync.core.models.accounts import UserCreate, UserPublic, UserUpdate
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import accounts

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=Page[UserPublic], responses=docs.answers(docs.page(ex.USER)))
def list_users(
    caller: Admin,
    session: ReadSession,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[UserPublic]:
    """The tenant's users, ordered by email."""
    return accounts.list_users(
        session=session, tenant_id=caller.tenant_id, limit=limit, cursor=cursor
    )


@router.post(
    "",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.USER, 201, "Created")
    | docs.error(409, "A user with email ana.costa@example.com already exists"),
)
def create_user(
    body: Annotated[UserCreate, docs.body("An operator", ex.USER_IN)],
    caller: Admin,
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> UserPublic:
    """Create a user in the caller's tenant."""
    return accounts.create_user(
        session=session, tenant_id=caller.tenant_id, data=body, actor=caller,
        settings=settings, clock=clock,
    )  # fmt: skip


@router.get("/{user_id}", response_model=UserPublic, responses=docs.answers(ex.USER))
def get_user(user_id: uuid.UUID, caller: Admin, session: ReadSession) -> UserPublic:
    user = accounts.get_user(session=session, tenant_id=caller.tenant_id, user_id=user_id)
    return UserPublic.model_validate(user)


_LAST_ADMIN = docs.error(
    409, "The tenant's last active admin cannot be removed, demoted or deactivated"
)


@router.patch(
    "/{user_id}", response_model=UserPublic, responses=docs.answers(ex.USER) | _LAST_ADMIN
)
def update_user(
    user_id: uuid.UUID,
    body: Annotated[UserUpdate, docs.body("Make a viewer", ex.USER_UPDATE)],
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
) -> UserPublic:
    """Change a user's role or active flag (deactivating ends their sessions)."""
    return accounts.update_user(
        session=session, tenant_id=caller.tenant_id, user_id=user_id, data=body, actor=caller,
        clock=clock,
    )  # fmt: skip


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_LAST_ADMIN)
def delete_user(user_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep) -> None:
    accounts.delete_user(
        session=session, tenant_id=caller.tenant_id, user_id=user_id, actor=caller, clock=clock
    )
