"""Shift schedules (weekly patterns per site or machine) and crew check-ins.

A schedule belongs to a site (every machine of the site works it) or to one machine (the
machine then works only its own schedules). Times are local wall-clock times in the site's
IANA time zone; occurrences are computed from them (``plantsync.core.services.shifts``).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time

from pydantic import AwareDatetime, field_validator, model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.models.change import OriginKind

ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _check_weekdays(days: list[int]) -> list[int]:
    if not days:
        raise ValueError("at least one weekday (1 = Monday ... 7 = Sunday)")
    if any(d < 1 or d > 7 for d in days):
        raise ValueError("weekdays are ISO numbers 1 (Monday) to 7 (Sunday)")
    return sorted(set(days))


# A wall-clock time without a zone offset: JSON Schema's "time" format is RFC 3339 full-time,
# which requires an offset, so documenting these as "time" made every answer invalid.
LOCAL_TIME = {"format": "partial-time", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"}


class ShiftScheduleBase(SQLModel):
    name: str = Field(min_length=1, max_length=64, description="e.g. Early, Late, Night")
    start_time: time = Field(
        description="local start (site time zone)", schema_extra={"json_schema_extra": LOCAL_TIME}
    )
    end_time: time = Field(
        description="local end; <= start_time means the next day",
        schema_extra={"json_schema_extra": LOCAL_TIME},
    )
    valid_from: date | None = Field(default=None, description="first local date it applies")
    valid_to: date | None = Field(default=None, description="last local date it applies")


class ShiftSchedule(ShiftScheduleBase, table=True):
    __tablename__ = "shift_schedule"
    __table_args__ = (Index("ix_shift_schedule_scope", "tenant_id", "site_id", "machine_id"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id")
    machine_id: uuid.UUID | None = Field(default=None, foreign_key="machine.id", index=True)
    weekdays: str = Field(max_length=16, description="ISO weekdays as digits, e.g. '12345'")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()

    @property
    def weekday_list(self) -> list[int]:
        return [int(c) for c in self.weekdays]


class ShiftScheduleCreate(ShiftScheduleBase):
    site_id: uuid.UUID | None = Field(default=None, description="the site's machines work it")
    machine_id: uuid.UUID | None = Field(default=None, description="or only this machine")
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], description="1 = Monday ... 7 = Sunday")

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        return _check_weekdays(v)

    @model_validator(mode="after")
    def _scope(self) -> ShiftScheduleCreate:
        if (self.site_id is None) == (self.machine_id is None):
            raise ValueError("give exactly one of site_id and machine_id")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "site_id": "3c4e5f60-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
                    "name": "Early",
                    "start_time": "06:00:00",
                    "end_time": "14:00:00",
                    "weekdays": [1, 2, 3, 4, 5],
                }
            ]
        }
    }


class ShiftSchedulePublic(ShiftScheduleBase):
    id: uuid.UUID
    site_id: uuid.UUID | None
    machine_id: uuid.UUID | None
    weekdays: list[int]
    time_zone: str = Field(description="the IANA zone the local times are in")
    created_at: datetime
    updated_at: datetime


class ShiftOccurrencePublic(SQLModel):
    schedule_id: uuid.UUID
    name: str
    shift_date: date = Field(description="the local date the shift starts on")
    start: datetime = Field(description="UTC")
    end: datetime = Field(description="UTC")
    local_start: datetime = Field(description="the same instant in the site's time zone")
    local_end: datetime
    time_zone: str


class CurrentShift(SQLModel):
    machine_id: uuid.UUID
    time_zone: str
    at: datetime
    current: ShiftOccurrencePublic | None = Field(description="null when no shift is running")
    next: ShiftOccurrencePublic | None = Field(description="the next shift within 8 days")
    crew: list[CrewCheckInPublic] = Field(description="workers checked in on the machine now")


# --- crew check-ins --------------------------------------------------------------------------


class CrewCheckIn(SQLModel, table=True):
    """A worker on a machine from ``checked_in_at`` until ``checked_out_at`` (null: still on)."""

    __tablename__ = "crew_checkin"
    __table_args__ = (
        Index("ix_crew_checkin_machine_time", "tenant_id", "machine_id", "checked_in_at"),
        Index("ix_crew_checkin_worker", "tenant_id", "worker_code", "checked_out_at"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id")
    worker_code: str = Field(max_length=64)
    worker_name: str | None = Field(default=None, max_length=200)
    hourly_rate_minor: int = Field(ge=0)
    currency: str = Field(max_length=3)
    checked_in_at: datetime = utc_field()
    checked_out_at: datetime | None = utc_field(nullable=True)
    shift_schedule_id: uuid.UUID | None = Field(default=None, foreign_key="shift_schedule.id")
    shift_name: str | None = Field(default=None, max_length=64)
    shift_date: date | None = Field(default=None)
    origin_kind: OriginKind = Field(default=OriginKind.system, max_length=16)
    origin_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = utc_field()


class CheckInCreate(SQLModel):
    machine_id: uuid.UUID
    worker_code: str = Field(min_length=1, max_length=64, description="badge or personnel number")
    worker_name: str | None = Field(default=None, max_length=200)
    hourly_rate_minor: int = Field(
        ge=0, le=100_000_000, description="hourly rate in minor units (cents)"
    )
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")
    at: AwareDatetime | None = Field(default=None, description="check-in time (default: now)")

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        v = v.upper()
        if not ISO_CURRENCY.match(v):
            raise ValueError("an ISO 4217 code of three letters, e.g. EUR")
        return v

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "worker_code": "B-10442",
                    "worker_name": "Ana Costa",
                    "hourly_rate_minor": 3250,
                    "currency": "EUR",
                }
            ]
        }
    }


class CheckOut(SQLModel):
    checkin_id: uuid.UUID | None = Field(default=None, description="the check-in to end")
    worker_code: str | None = Field(
        default=None, min_length=1, max_length=64, description="or the worker's open check-in"
    )
    at: AwareDatetime | None = Field(default=None, description="check-out time (default: now)")


class CrewCheckInPublic(SQLModel):
    id: uuid.UUID
    machine_id: uuid.UUID
    worker_code: str
    worker_name: str | None
    hourly_rate_minor: int
    currency: str
    checked_in_at: datetime
    checked_out_at: datetime | None
    shift_schedule_id: uuid.UUID | None
    shift_name: str | None
    shift_date: date | None


class LaborCostLine(SQLModel):
    worker_code: str
    worker_name: str | None
    currency: str
    hours: float
    amount_minor: int


class LaborCostTotal(SQLModel):
    currency: str
    hours: float
    amount_minor: int


class LaborCost(SQLModel):
    machine_id: uuid.UUID
    start: datetime
    end: datetime
    totals: list[LaborCostTotal] = Field(description="one per currency")
    workers: list[LaborCostLine]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "start": "2026-01-05T00:00:00Z",
                    "end": "2026-01-06T00:00:00Z",
                    "totals": [{"currency": "EUR", "hours": 16.0, "amount_minor": 52000}],
                    "workers": [
                        {
                            "worker_code": "B-10442",
                            "worker_name": "Ana Costa",
                            "currency": "EUR",
                            "hours": 8.0,
                            "amount_minor": 26000,
                        }
                    ],
                }
            ]
        }
    }


CurrentShift.model_rebuild()

__all__ = [
    "CheckInCreate",
    "CheckOut",
    "CrewCheckIn",
    "CrewCheckInPublic",
    "CurrentShift",
    "LaborCost",
    "LaborCostLine",
    "LaborCostTotal",
    "ShiftOccurrencePublic",
    "ShiftSchedule",
    "ShiftScheduleCreate",
    "ShiftSchedulePublic",
]
