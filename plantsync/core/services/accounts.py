"""Users and service accounts: create, list, change, delete — each change audited.

A tenant always keeps at least one active admin user: the last one cannot be demoted,
deactivated or deleted (that would lock the tenant out of its own administration).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.models.accounts import (
    ApiKey,
    RefreshToken,
    ServiceAccount,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountPublic,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from plantsync.core.paging import Page, check_limit, decode_cursor, encode_cursor, keyset_after
from plantsync.core.principal import Principal, PrincipalKind, Role
from plantsync.core.security import hash_password, new_token
from plantsync.core.services.audit import record_audit
from plantsync.errors import ConflictError, NotFoundError

# --- users ---------------------------------------------------------------------------------------


def create_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: UserCreate,
    actor: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> UserPublic:
    """Creates a user (email stored lower-case) and commits.

    Raises:
        ConflictError: the email is taken (emails are unique across tenants: they log in).
    """
    email = data.email.strip().lower()
    # Hash before the first query: the write transaction (SQLite's write lock) starts there.
    password_hash = hash_password(settings, data.password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise ConflictError(f"A user with email {email} already exists")
    now = clock.now()
    user = User(
        tenant_id=tenant_id,
        email=email,
        password_hash=password_hash,
        role=data.role,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    record_audit(
        session=session, principal=actor, action="user.create", target_type="user",
        target_id=user.id, details={"email": email, "role": data.role.value}, clock=clock,
    )  # fmt: skip
    _commit(session, f"A user with email {email} already exists")
    return UserPublic.model_validate(user)


def list_users(
    *, session: Session, tenant_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[UserPublic]:
    """The tenant's users ordered by email, keyset-paged."""
    size = check_limit(limit)
    query = select(User).where(User.tenant_id == tenant_id)
    order: list[Any] = [col(User.email), col(User.id)]
    if cursor:
        query = query.where(keyset_after(order, decode_cursor(cursor, 2), descending=False))
    rows = session.exec(query.order_by(*order).limit(size + 1)).all()
    nxt = encode_cursor([rows[size - 1].email, rows[size - 1].id]) if len(rows) > size else None
    return Page(items=[UserPublic.model_validate(r) for r in rows[:size]], next_cursor=nxt)


def get_user(*, session: Session, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFoundError("User", user_id)
    return user


def find_user_id(*, session: Session, tenant_id: uuid.UUID, email: str) -> uuid.UUID:
    """The id of the tenant's user with ``email`` (case-insensitive)."""
    user = session.exec(
        select(User).where(User.tenant_id == tenant_id, User.email == email.strip().lower())
    ).first()
    if user is None:
        raise NotFoundError("User", email)
    return user.id


def update_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    data: UserUpdate,
    actor: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> UserPublic:
    """Changes a user's role and/or active flag; deactivation ends the user's sessions.

    Raises:
        NotFoundError: no such user in the tenant.
        ConflictError: the change would leave the tenant without an active admin.
    """
    user = get_user(session=session, tenant_id=tenant_id, user_id=user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return UserPublic.model_validate(user)
    loses_admin = (
        user.role == Role.admin
        and user.is_active
        and (changes.get("role", Role.admin) != Role.admin or changes.get("is_active") is False)
    )
    if loses_admin:
        _ensure_another_admin(session, user)
    for name, value in changes.items():
        setattr(user, name, value)
    user.updated_at = clock.now()
    if changes.get("is_active") is False:
        _revoke_sessions(session, user.id, clock)
    session.add(user)
    record_audit(
        session=session, principal=actor, action="user.update", target_type="user",
        target_id=user.id, details={k: str(v) for k, v in changes.items()}, clock=clock,
    )  # fmt: skip
    session.commit()
    return UserPublic.model_validate(user)


def delete_user(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    actor: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Deletes a user and their refresh tokens.

    Raises:
        NotFoundError: no such user in the tenant.
        ConflictError: the user is the tenant's last active admin.
    """
    user = get_user(session=session, tenant_id=tenant_id, user_id=user_id)
    if user.role == Role.admin and user.is_active:
        _ensure_another_admin(session, user)
    session.exec(delete(RefreshToken).where(col(RefreshToken.subject_id) == user.id))
    record_audit(
        session=session, principal=actor, action="user.delete", target_type="user",
        target_id=user.id, details={"email": user.email}, clock=clock,
    )  # fmt: skip
    session.delete(user)
    session.commit()


def _ensure_another_admin(session: Session, user: User) -> None:
    others = session.exec(
        select(func.count())
        .select_from(User)
        .where(
            User.tenant_id == user.tenant_id,
            User.role == Role.admin,
            col(User.is_active).is_(True),
            User.id != user.id,
        )
    ).one()
    if others == 0:
        raise ConflictError(
            "The tenant's last active admin cannot be removed, demoted or deactivated"
        )


def _revoke_sessions(session: Session, subject_id: uuid.UUID, clock: Clock) -> None:
    tokens = session.exec(
        select(RefreshToken).where(
            RefreshToken.subject_id == subject_id, col(RefreshToken.revoked_at).is_(None)
        )
    ).all()
    for token in tokens:
        token.revoked_at = clock.now()
        session.add(token)


def user_principal(user: User) -> Principal:
    return Principal(
        kind=PrincipalKind.user,
        subject_id=user.id,
        tenant_id=user.tenant_id,
        role=Role(user.role),
        label=user.email,
    )


# --- service accounts ------------------------------------------------------------------------------


def create_service_account(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: ServiceAccountCreate,
    actor: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> ServiceAccountCreated:
    """Creates a service account; the returned ``client_secret`` is never retrievable again.

    Raises:
        ConflictError: the tenant has a service account with this name.
    """
    name = data.name.strip()
    secret = new_token("pss_")
    secret_hash = hash_password(settings, secret)  # before the write transaction starts
    taken = select(ServiceAccount).where(
        ServiceAccount.tenant_id == tenant_id, ServiceAccount.name == name
    )
    if session.exec(taken).first() is not None:
        raise ConflictError(f"A service account named {name!r} already exists")
    now = clock.now()
    account = ServiceAccount(
        tenant_id=tenant_id,
        name=name,
        client_id="psc_" + uuid.uuid4().hex,
        secret_hash=secret_hash,
        role=data.role,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    record_audit(
        session=session, principal=actor, action="service_account.create",
        target_type="service_account", target_id=account.id,
        details={"name": name, "client_id": account.client_id, "role": data.role.value},
        clock=clock,
    )  # fmt: skip
    _commit(session, f"A service account named {name!r} already exists")
    public = ServiceAccountPublic.model_validate(account)
    return ServiceAccountCreated(**public.model_dump(), client_secret=secret)


def list_service_accounts(
    *, session: Session, tenant_id: uuid.UUID, limit: int | None = None, cursor: str | None = None
) -> Page[ServiceAccountPublic]:
    size = check_limit(limit)
    query = select(ServiceAccount).where(ServiceAccount.tenant_id == tenant_id)
    order: list[Any] = [col(ServiceAccount.name), col(ServiceAccount.id)]
    if cursor:
        query = query.where(keyset_after(order, decode_cursor(cursor, 2), descending=False))
    rows = session.exec(query.order_by(*order).limit(size + 1)).all()
    nxt = encode_cursor([rows[size - 1].name, rows[size - 1].id]) if len(rows) > size else None
    items = [ServiceAccountPublic.model_validate(r) for r in rows[:size]]
    return Page(items=items, next_cursor=nxt)


def get_service_account(
    *, session: Session, tenant_id: uuid.UUID, ident: uuid.UUID | str
) -> ServiceAccount:
    """A service account by id, client id or name."""
    query = select(ServiceAccount).where(ServiceAccount.tenant_id == tenant_id)
    key = str(ident)
    try:
        found = session.exec(query.where(ServiceAccount.id == uuid.UUID(key))).first()
    except ValueError:
        found = None
    found = found or session.exec(query.where(ServiceAccount.client_id == key)).first()
    found = found or session.exec(query.where(ServiceAccount.name == key)).first()
    if found is None:
        raise NotFoundError("Service account", ident)
    return found


def delete_service_account(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    ident: uuid.UUID | str,
    actor: Principal,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Deletes a service account with its API keys and refresh tokens."""
    account = get_service_account(session=session, tenant_id=tenant_id, ident=ident)
    session.exec(delete(ApiKey).where(col(ApiKey.service_account_id) == account.id))
    session.exec(delete(RefreshToken).where(col(RefreshToken.subject_id) == account.id))
    record_audit(
        session=session, principal=actor, action="service_account.delete",
        target_type="service_account", target_id=account.id,
        details={"name": account.name, "client_id": account.client_id}, clock=clock,
    )  # fmt: skip
    session.delete(account)
    session.commit()


def service_account_principal(account: ServiceAccount) -> Principal:
    return Principal(
        kind=PrincipalKind.service_account,
        subject_id=account.id,
        tenant_id=account.tenant_id,
        role=Role(account.role),
        label=f"{account.name} ({account.client_id})",
    )


def _commit(session: Session, conflict_message: str) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(conflict_message) from exc
