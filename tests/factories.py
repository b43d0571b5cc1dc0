"""Test data builders. Each commits its rows and returns them (detached, fields loaded)."""

from __future__ import annotations

import uuid

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant, User
from plantsync.core.models.accounts import ServiceAccount
from plantsync.core.principal import Role
from plantsync.core.security import hash_password

DEFAULT_PASSWORD = "correct-horse-battery-staple"

_LOW_COST = Settings(_env_file=None, password_hash_cost="low")  # type: ignore[call-arg]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_tenant(db: Database, name: str | None = None) -> Tenant:
    tenant = Tenant(name=name or _unique("tenant"))
    with db.write_session() as s:
        s.add(tenant)
    return tenant


def create_user(
    db: Database,
    *,
    tenant_id: uuid.UUID,
    role: Role | str = Role.admin,
    email: str | None = None,
    password: str | None = None,
) -> User:
    user = User(
        tenant_id=tenant_id,
        email=(email or f"{_unique('user')}@example.com").lower(),
        password_hash=hash_password(_LOW_COST, password or DEFAULT_PASSWORD),
        role=Role(role),
    )
    with db.write_session() as s:
        s.add(user)
    return user


def create_service_account(
    db: Database,
    *,
    tenant_id: uuid.UUID,
    role: Role | str = Role.operator,
    name: str | None = None,
    secret: str = DEFAULT_PASSWORD,
) -> ServiceAccount:
    account = ServiceAccount(
        tenant_id=tenant_id,
        name=name or _unique("service"),
        client_id="psc_" + uuid.uuid4().hex,
        secret_hash=hash_password(_LOW_COST, secret),
        role=Role(role),
    )
    with db.write_session() as s:
        s.add(account)
    return account
