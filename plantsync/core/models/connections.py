"""The API schemas of an ERP connection: what a create or an update may say (validated here:
base URL, TLS trust, interval, sync entities) and what is returned (never the credentials).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator
from sqlmodel import Field

from plantsync.core.models.integration import MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, SyncStatus
from plantsync.entities import Direction, EntityType

INSECURE_TLS_WARNING = (
    "TLS certificate verification is disabled for this connection: anyone on the network path "
    "can read its credentials. Install the ERP's CA bundle (tls.ca_bundle_pem) instead."
)


class SyncEntity(BaseModel):
    """One (direction, entity_type) pair the scheduler runs for a connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Direction
    entity_type: EntityType


class TLSSettings(BaseModel):
    """``{"ca_bundle_pem": "..."}`` (an internal CA, PEM) or ``{"verify": false}``."""

    model_config = ConfigDict(extra="forbid")

    ca_bundle_pem: str | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _check(self) -> TLSSettings:
        if self.ca_bundle_pem is not None:
            if not self.verify:
                raise ValueError("give either ca_bundle_pem or verify: false, not both")
            _check_pem(self.ca_bundle_pem)
        return self


def _check_pem(text: str) -> None:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(text.encode("utf-8"))
    except ValueError:
        certs = []
    if not certs:
        raise ValueError("ca_bundle_pem must hold one or more PEM certificates")


def _check_base_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("must be an absolute http(s) URL, e.g. https://erp.example.com")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials: put them in auth_config")
    return value.rstrip("/")


class ConnectionCreate(BaseModel):
    """The body of ``POST /erp/connections``. ``auth_config`` is checked per provider."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    provider: str = Field(min_length=1, max_length=50)
    base_url: str = Field(max_length=2000)
    auth_config: dict[str, Any]
    sync_interval_minutes: int = Field(default=60, ge=MIN_INTERVAL_MINUTES, le=MAX_INTERVAL_MINUTES)
    is_active: bool = True
    field_mappings: dict[str, Any] = Field(default_factory=dict)
    tls: TLSSettings | None = None
    sync_entities: list[SyncEntity] | None = None
    outbound_start_from: AwareDatetime | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_base_url(v)


class ConnectionUpdate(BaseModel):
    """The body of ``PATCH /erp/connections/{id}``: only the fields given change.

    ``auth_config`` replaces single keys (``null`` removes an optional one). Changing
    ``base_url`` of a connection with links to ERP records needs ``reset_links: true``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    provider: str | None = None
    base_url: str | None = Field(default=None, max_length=2000)
    auth_config: dict[str, Any] | None = None
    sync_interval_minutes: int | None = Field(
        default=None, ge=MIN_INTERVAL_MINUTES, le=MAX_INTERVAL_MINUTES
    )
    is_active: bool | None = None
    field_mappings: dict[str, Any] | None = None
    tls: TLSSettings | None = None
    sync_entities: list[SyncEntity] | None = None
    outbound_start_from: AwareDatetime | None = None
    reset_links: bool = False

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_base_url(v)


class ScheduleEntry(BaseModel):
    """When one (entity_type, direction) of a connection last ran and runs next."""

    entity_type: EntityType
    direction: Direction
    last_sync_at: datetime | None
    last_status: SyncStatus | None
    last_log_id: uuid.UUID | None
    next_sync_at: datetime | None


class ConnectionPublic(BaseModel):
    """A connection as the API and ``--json`` show it: never a secret."""

    id: uuid.UUID
    name: str
    provider: str
    base_url: str
    auth_config_keys: list[str]
    sync_interval_minutes: int
    is_active: bool
    field_mappings: dict[str, str]
    tls: TLSSettings
    tls_verify_disabled: bool
    warnings: list[str]
    sync_entities: list[SyncEntity]
    outbound_start_from: datetime
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    last_status: SyncStatus | None
    next_sync_at: datetime | None
    schedule: list[ScheduleEntry]
    # Set after ``degraded_after_failures`` consecutive failed runs (any entity).
    degraded: bool = False
    consecutive_failures: int = 0
