"""The audit log: who changed what, when. Never a secret (see ``services.audit``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_tenant_at", "tenant_id", "occurred_at", "id"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    occurred_at: datetime = utc_field()
    actor_kind: str = Field(max_length=32)
    actor_id: uuid.UUID
    actor_label: str = Field(max_length=254)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=64, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class AuditEntryPublic(SQLModel):
    id: uuid.UUID
    occurred_at: datetime
    actor_kind: str
    actor_id: uuid.UUID
    actor_label: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
