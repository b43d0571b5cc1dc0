"""Tenants: every row of plant and integration data belongs to exactly one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, utc_field


class TenantBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)


class Tenant(TenantBase, table=True):
    id: uuid.UUID = id_field()
    name: str = Field(max_length=100, unique=True, index=True)
    created_at: datetime = utc_field()


class TenantPublic(TenantBase):
    id: uuid.UUID
    created_at: datetime
