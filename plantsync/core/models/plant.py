"""Sites and machines (assets) with their status history.

Families follow one pattern: ``XBase`` (shared validated fields), ``XCreate``, ``XUpdate`` (all
optional), ``XPublic`` (what the API returns) and ``X`` (the table).
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.models.change import ChangeTracked, OriginKind, change_index

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$"


def check_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone, else ``ValueError``."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Berlin')") from exc
    return value


# --- sites -----------------------------------------------------------------------------------


class SiteBase(SQLModel):
    code: str = Field(min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)


class Site(SiteBase, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_site_tenant_code"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class SiteCreate(SiteBase):
    pass


class SiteUpdate(SQLModel):
    code: str | None = Field(
        default=None, min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)


class SitePublic(SiteBase):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


# --- machines --------------------------------------------------------------------------------


class MachineStatus(StrEnum):
    running = "running"
    idle = "idle"
    down = "down"
    maintenance = "maintenance"
    offline = "offline"


class MachineBase(SQLModel):
    code: str = Field(min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=200)
    type: str | None = Field(default=None, max_length=100)
    manufacturer: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    serial_number: str | None = Field(default=None, max_length=200)
    cost_center: str | None = Field(default=None, max_length=64)
    ideal_cycle_time_s: float | None = Field(
        default=None, gt=0, le=86400, description="ideal seconds per part (OEE performance)"
    )
    is_active: bool = True


class Machine(MachineBase, ChangeTracked, table=True):
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_machine_tenant_code"),
        change_index("machine"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id", index=True)
    status: MachineStatus = Field(default=MachineStatus.idle, max_length=16)
    status_since: datetime = utc_field()
    created_at: datetime = utc_field()


class MachineCreate(MachineBase):
    site_id: uuid.UUID | None = None
    site_code: str | None = Field(
        default=None, max_length=64, description="the site by code (instead of site_id)"
    )
    status: MachineStatus = MachineStatus.idle


class MachineUpdate(SQLModel):
    code: str | None = Field(
        default=None, min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = Field(default=None, max_length=100)
    manufacturer: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    serial_number: str | None = Field(default=None, max_length=200)
    cost_center: str | None = Field(default=None, max_length=64)
    ideal_cycle_time_s: float | None = Field(default=None, gt=0, le=86400)
    is_active: bool | None = None
    site_id: uuid.UUID | None = None
    site_code: str | None = Field(default=None, max_length=64)


class MachinePublic(MachineBase):
    id: uuid.UUID
    site_id: uuid.UUID | None
    status: MachineStatus
    status_since: datetime
    created_at: datetime
    updated_at: datetime
    origin_kind: OriginKind


class MachineStatusChange(SQLModel, table=True):
    """One interval of a machine's status history; ``ended_at`` is null for the current one."""

    __tablename__ = "machine_status_change"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id", index=True)
    status: MachineStatus = Field(max_length=16)
    started_at: datetime = utc_field(index=True)
    ended_at: datetime | None = utc_field(nullable=True)
    reason: str | None = Field(default=None, max_length=200)
    origin_kind: OriginKind = Field(default=OriginKind.system, max_length=16)


class MachineStatusPublic(SQLModel):
    machine_id: uuid.UUID
    code: str
    name: str
    site_id: uuid.UUID | None
    status: MachineStatus
    since: datetime
    duration_s: float = Field(description="seconds in this status until now")


class MachineStatusSet(SQLModel):
    status: MachineStatus
    at: AwareDatetime | None = Field(default=None, description="when it changed (default: now)")
    reason: str | None = Field(default=None, max_length=200)


class StatusIntervalPublic(SQLModel):
    status: MachineStatus
    started_at: AwareDatetime
    ended_at: datetime | None
    duration_s: float
    reason: str | None


class MachineTimeline(SQLModel):
    machine_id: uuid.UUID
    start: datetime
    end: datetime
    intervals: list[StatusIntervalPublic]
