"""Downtime events and andon calls (initiate -> claim -> respond -> close)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.models.change import ChangeTracked, OriginKind, change_index
from plantsync.core.models.plant import CODE_PATTERN, MachineStatus


class DowntimeSource(StrEnum):
    andon = "andon"
    plc = "plc"
    manual = "manual"
    api = "api"


class DowntimeBase(SQLModel):
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    reason_code: str | None = Field(default=None, max_length=64)
    planned: bool = Field(default=False, description="planned stop (true) or breakdown (false)")
    failure_mode: str | None = Field(default=None, max_length=64, description="library code")
    root_cause: str | None = Field(default=None, max_length=64, description="library code")
    source: DowntimeSource = DowntimeSource.api
    description: str | None = Field(default=None, max_length=1000)
    external_ref: str | None = Field(
        default=None, max_length=100, schema_extra={"pattern": CODE_PATTERN},
        description="the sender's own reference; bulk upserts match on it",
    )  # fmt: skip


class DowntimeEvent(DowntimeBase, ChangeTracked, table=True):
    __tablename__ = "downtime_event"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_ref", name="uq_downtime_tenant_external_ref"),
        change_index("downtime_event"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id", index=True)
    work_order_id: uuid.UUID | None = Field(default=None, foreign_key="work_order.id")
    started_at: datetime = utc_field(index=True, default_now=False)
    ended_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class DowntimeCreate(DowntimeBase):
    machine_id: uuid.UUID | None = None
    machine_code: str | None = Field(default=None, max_length=64, description="instead of id")
    work_order_id: uuid.UUID | None = None


class DowntimeUpdate(SQLModel):
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    reason_code: str | None = Field(default=None, max_length=64)
    planned: bool | None = None
    failure_mode: str | None = Field(default=None, max_length=64)
    root_cause: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    work_order_id: uuid.UUID | None = None


class DowntimeUpsert(DowntimeCreate):
    """One item of a bulk upsert: matched on ``id`` when given, else on ``external_ref``."""

    id: uuid.UUID | None = None


class DowntimePublic(DowntimeBase):
    id: uuid.UUID
    machine_id: uuid.UUID
    work_order_id: uuid.UUID | None
    duration_minutes: float | None = Field(description="null while the event is open")
    created_at: datetime
    updated_at: datetime
    origin_kind: OriginKind


# --- andon calls -----------------------------------------------------------------------------


class CallType(StrEnum):
    """What the button or PLC asks for. ``DT`` and ``MAINT`` mean the machine has stopped."""

    DT = "DT"  # downtime: the machine is stopped
    MAINT = "MAINT"  # maintenance needed: the machine is stopped for repair
    QA = "QA"  # quality check wanted
    MAT = "MAT"  # material needed
    HELP = "HELP"  # general assistance

    @property
    def stops_machine(self) -> bool:
        return self in (CallType.DT, CallType.MAINT)


class CallStatus(StrEnum):
    initiated = "initiated"
    claimed = "claimed"
    responded = "responded"
    closed = "closed"


class AndonCall(SQLModel, table=True):
    __tablename__ = "andon_call"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id", index=True)
    call_type: CallType = Field(max_length=8)
    status: CallStatus = Field(default=CallStatus.initiated, max_length=16, index=True)
    downtime_event_id: uuid.UUID | None = Field(default=None, foreign_key="downtime_event.id")
    machine_status_before: MachineStatus | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=1000)
    initiated_at: datetime = utc_field(index=True)
    initiated_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = utc_field(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=200)
    responded_at: datetime | None = utc_field(nullable=True)
    responded_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = utc_field(nullable=True)
    closed_by: str | None = Field(default=None, max_length=200)


class CallCreate(SQLModel):
    machine_id: uuid.UUID
    call_type: CallType
    source: DowntimeSource = Field(default=DowntimeSource.andon, description="andon or plc")
    reason_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=1000)


class CallStep(SQLModel):
    """Body of claim / respond / close (all optional)."""

    by: str | None = Field(default=None, max_length=200, description="who (default: caller)")
    note: str | None = Field(default=None, max_length=1000)
    reason_code: str | None = Field(default=None, max_length=64, description="close only")
    failure_mode: str | None = Field(default=None, max_length=64, description="close only")
    root_cause: str | None = Field(default=None, max_length=64, description="close only")


class CallPublic(SQLModel):
    id: uuid.UUID
    machine_id: uuid.UUID
    call_type: CallType
    status: CallStatus
    downtime_event_id: uuid.UUID | None
    note: str | None
    initiated_at: datetime
    initiated_by: str | None
    claimed_at: datetime | None
    claimed_by: str | None
    responded_at: datetime | None
    responded_by: str | None
    closed_at: datetime | None
    closed_by: str | None
