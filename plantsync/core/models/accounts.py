"""Accounts: users, service accounts, their refresh tokens and API keys, failed-login records.

Secrets are never stored: passwords and client secrets as argon2 hashes, refresh tokens and
API keys as SHA-256 digests of random tokens. Roles are stored as short strings.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.principal import Role


class RoleType(TypeDecorator[Role]):
    """A ``Role`` stored as a plain string (no database enum type to migrate)."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value: Role | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Role(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Role | None:
        return None if value is None else Role(value)


def role_field() -> Any:
    return Field(sa_type=RoleType, nullable=False)


class User(SQLModel, table=True):
    """A person who logs in with an email and a password. Emails are unique across tenants."""

    __tablename__ = "user_account"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: Role = role_field()
    is_active: bool = Field(default=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class ServiceAccount(SQLModel, table=True):
    """A system that logs in with a client id and secret, and may hold API keys."""

    __tablename__ = "service_account"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    name: str = Field(max_length=100)
    client_id: str = Field(max_length=64, unique=True, index=True)
    secret_hash: str = Field(max_length=255)
    role: Role = role_field()
    is_active: bool = Field(default=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class RefreshToken(SQLModel, table=True):
    """One refresh token of a login's family. A token is used once; reuse revokes the family."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    subject_kind: str = Field(max_length=32)
    subject_id: uuid.UUID = Field(index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    issued_at: datetime = utc_field()
    expires_at: datetime = utc_field(default_now=False)
    used_at: datetime | None = utc_field(nullable=True)
    revoked_at: datetime | None = utc_field(nullable=True)


class ApiKey(SQLModel, table=True):
    """A long-lived key of a service account, sent as ``X-API-Key``.

    ``machine_ids`` (UUID strings) limits the key to those machines; ``None`` means all.
    """

    __tablename__ = "api_key"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    service_account_id: uuid.UUID = Field(foreign_key="service_account.id", index=True)
    name: str = Field(max_length=100)
    key_prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    role: Role = role_field()
    machine_ids: list[str] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    created_at: datetime = utc_field()
    expires_at: datetime | None = utc_field(nullable=True)
    revoked_at: datetime | None = utc_field(nullable=True)


class LoginFailure(SQLModel, table=True):
    """One failed login, per account (``scope="account"``) and per client address."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_scope_key_at", "scope", "key", "occurred_at"),)

    id: uuid.UUID = id_field()
    scope: str = Field(max_length=16)
    key: str = Field(max_length=255)
    occurred_at: datetime = utc_field()


# --- request and response shapes --------------------------------------------------------------

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PASSWORD_MIN = 10
SECRET_MAX = 1024  # bounds the KDF's work per request


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class UserCreate(_Shape):
    email: str = PydanticField(max_length=254, pattern=EMAIL_PATTERN)
    password: str = PydanticField(min_length=PASSWORD_MIN, max_length=SECRET_MAX)
    role: Role = Role.viewer


class UserUpdate(_Shape):
    role: Role | None = None
    is_active: bool | None = None


class UserPublic(_Shape):
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ServiceAccountCreate(_Shape):
    name: str = PydanticField(min_length=1, max_length=100)
    role: Role = Role.operator


class ServiceAccountPublic(_Shape):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    client_id: str
    role: Role
    is_active: bool
    created_at: datetime


class ServiceAccountCreated(ServiceAccountPublic):
    """Returned once, at creation: the only time the client secret is shown."""

    client_secret: str


class ApiKeyCreate(_Shape):
    service_account_id: uuid.UUID
    name: str = PydanticField(min_length=1, max_length=100)
    role: Role = Role.operator
    machine_ids: list[uuid.UUID] | None = PydanticField(default=None, max_length=1000)
    expires_at: AwareDatetime | None = None


class ApiKeyPublic(_Shape):
    id: uuid.UUID
    tenant_id: uuid.UUID
    service_account_id: uuid.UUID
    name: str
    key_prefix: str
    role: Role
    machine_ids: list[uuid.UUID] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    """Returned once, at creation: the only time the key is shown."""

    key: str
