"""Production runs and their count submissions (the ``production_data`` entity of syncs).

A run is one machine producing (usually for one work order) from ``started_at`` to
``stopped_at``. Counters and PLC gateways post good/scrap counts in batches of
``CycleSubmission`` rows; a run's ``good_count``/``scrap_count`` are their sums, kept in step
in the same transaction. At most one run per machine is open at a time (a partial unique index
enforces it under concurrent starts). A closed run is what an outbound sync pushes as one
production record; its change stamp moves whenever its figures change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.models.change import ChangeTracked, OriginKind, change_index

CLIENT_REF_DESCRIPTION = (
    "the client's own id for this submission (e.g. '<device>-<sequence>'): a retried "
    "submission with the same ref is recognised and not counted twice"
)


class RunStatus(StrEnum):
    running = "running"
    closed = "closed"


class ProductionRun(ChangeTracked, table=True):
    __tablename__ = "production_run"
    __table_args__ = (
        Index(
            "uq_production_run_open",
            "tenant_id",
            "machine_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index("ix_production_run_machine_start", "tenant_id", "machine_id", "started_at"),
        UniqueConstraint("tenant_id", "machine_id", "client_ref", name="uq_production_run_ref"),
        change_index("production_run"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id", index=True)
    work_order_id: uuid.UUID | None = Field(default=None, foreign_key="work_order.id", index=True)
    operation: str | None = Field(default=None, max_length=32)
    status: RunStatus = Field(default=RunStatus.running, max_length=16)
    started_at: datetime = utc_field()
    stopped_at: datetime | None = utc_field(nullable=True)
    ideal_cycle_time_s: float | None = Field(default=None)
    good_count: int = Field(default=0)
    scrap_count: int = Field(default=0)
    run_time_s: float | None = Field(default=None)
    downtime_s: float | None = Field(default=None)
    client_ref: str | None = Field(default=None, max_length=100)
    created_at: datetime = utc_field()


class RunStart(SQLModel):
    machine_id: uuid.UUID
    work_order_id: uuid.UUID | None = None
    operation: str | None = Field(default=None, max_length=32, description="order operation")
    started_at: AwareDatetime | None = Field(default=None, description="default: now")
    ideal_cycle_time_s: float | None = Field(
        default=None, gt=0, le=86400, description="overrides the machine's for this run's parts"
    )
    client_ref: str | None = Field(
        default=None, min_length=1, max_length=100, description=CLIENT_REF_DESCRIPTION
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "work_order_id": "0b8f5a52-5a0e-4bb5-8f16-8c3c5d0a7e21",
                    "started_at": "2026-01-05T06:00:00Z",
                }
            ]
        }
    }


class RunStop(SQLModel):
    machine_id: uuid.UUID | None = Field(default=None, description="stops this machine's open run")
    run_id: uuid.UUID | None = Field(default=None, description="or names the run")
    stopped_at: AwareDatetime | None = Field(default=None, description="default: now")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "stopped_at": "2026-01-05T14:00:00Z",
                }
            ]
        }
    }


class ProductionRunPublic(SQLModel):
    id: uuid.UUID
    machine_id: uuid.UUID
    work_order_id: uuid.UUID | None
    operation: str | None
    status: RunStatus
    started_at: datetime
    stopped_at: datetime | None
    ideal_cycle_time_s: float | None
    good_count: int
    scrap_count: int
    run_time_s: float | None = Field(description="closed runs: duration minus downtime")
    downtime_s: float | None = Field(description="closed runs: downtime within the run")
    client_ref: str | None
    updated_at: datetime
    origin_kind: OriginKind

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "5a1c9f0e-7b7d-4f0c-9d8e-3e2a1b4c5d6f",
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "work_order_id": None,
                    "operation": None,
                    "status": "closed",
                    "started_at": "2026-01-05T06:00:00Z",
                    "stopped_at": "2026-01-05T14:00:00Z",
                    "ideal_cycle_time_s": None,
                    "good_count": 812,
                    "scrap_count": 9,
                    "run_time_s": 26100.0,
                    "downtime_s": 2700.0,
                    "client_ref": None,
                    "updated_at": "2026-01-05T14:00:00Z",
                    "origin_kind": "device",
                }
            ]
        }
    }


class CycleSubmission(SQLModel, table=True):
    """Counts a counter reported for one period (usually a few minutes) on one machine."""

    __tablename__ = "cycle_submission"
    __table_args__ = (
        UniqueConstraint("tenant_id", "machine_id", "client_ref", name="uq_cycle_submission_ref"),
        Index("ix_cycle_submission_machine_time", "tenant_id", "machine_id", "recorded_at"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID = Field(foreign_key="machine.id")
    run_id: uuid.UUID | None = Field(default=None, foreign_key="production_run.id", index=True)
    good_count: int = Field(default=0)
    scrap_count: int = Field(default=0)
    recorded_at: datetime = utc_field()
    period_start: datetime | None = utc_field(nullable=True)
    client_ref: str | None = Field(default=None, max_length=100)
    origin_kind: OriginKind = Field(default=OriginKind.system, max_length=16)
    origin_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = utc_field()


class CycleItem(SQLModel):
    machine_id: uuid.UUID
    good: int = Field(ge=0, le=10_000_000, description="good parts in the period")
    scrap: int = Field(default=0, ge=0, le=10_000_000, description="scrap parts in the period")
    recorded_at: AwareDatetime | None = Field(
        default=None, description="end of the counting period (default: now); OEE windows use it"
    )
    period_start: AwareDatetime | None = Field(default=None, description="start of the period")
    run_id: uuid.UUID | None = Field(
        default=None, description="default: the machine's run covering recorded_at, if any"
    )
    client_ref: str | None = Field(
        default=None, min_length=1, max_length=100, description=CLIENT_REF_DESCRIPTION
    )


class CycleBatch(SQLModel):
    items: list[CycleItem] = Field(min_length=1, max_length=10_000)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                            "good": 42,
                            "scrap": 1,
                            "period_start": "2026-01-05T06:00:00Z",
                            "recorded_at": "2026-01-05T06:05:00Z",
                            "client_ref": "press-07-000193",
                        }
                    ]
                }
            ]
        }
    }


class CycleItemStatus(StrEnum):
    created = "created"
    duplicate = "duplicate"
    error = "error"


class CycleItemResult(SQLModel):
    index: int
    status: CycleItemStatus
    id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    errors: dict[str, list[str]] = Field(default_factory=dict)


class CycleBatchResult(SQLModel):
    created: int
    duplicates: int
    failed: int
    results: list[CycleItemResult]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "created": 1,
                    "duplicates": 1,
                    "failed": 1,
                    "results": [
                        {
                            "index": 0,
                            "status": "created",
                            "id": "c0ffee00-0000-4000-8000-000000000001",
                            "run_id": "5a1c9f0e-7b7d-4f0c-9d8e-3e2a1b4c5d6f",
                            "errors": {},
                        },
                        {
                            "index": 1,
                            "status": "duplicate",
                            "id": "c0ffee00-0000-4000-8000-000000000002",
                            "run_id": None,
                            "errors": {},
                        },
                        {
                            "index": 2,
                            "status": "error",
                            "id": None,
                            "run_id": None,
                            "errors": {"items.2.machine_id": ["Machine 9f... not found"]},
                        },
                    ],
                }
            ]
        }
    }


class CycleSubmissionPublic(SQLModel):
    id: uuid.UUID
    machine_id: uuid.UUID
    run_id: uuid.UUID | None
    good_count: int
    scrap_count: int
    recorded_at: datetime
    period_start: datetime | None
    client_ref: str | None
    created_at: datetime


# --- OEE snapshot ------------------------------------------------------------------------------


class OEEFlagPublic(SQLModel):
    code: str = Field(
        description="no_planned_time | no_run_time | counts_without_run_time | "
        "no_ideal_cycle_time | no_counts | performance_over_100 | no_shift_schedule"
    )
    message: str


class OEEInputsPublic(SQLModel):
    scheduled_time_s: float = Field(description="window and the machine's shifts")
    planned_stop_s: float = Field(description="planned downtime within the scheduled time")
    planned_time_s: float = Field(description="planned production time: scheduled - planned stops")
    unplanned_downtime_s: float = Field(description="unplanned downtime within planned time")
    run_time_s: float = Field(description="planned production time - unplanned downtime")
    ideal_cycle_time_s: float | None = Field(
        description="seconds per part; a count-weighted mean when runs override the machine's"
    )
    total_count: int
    good_count: int
    scrap_count: int
    shift_schedule: bool = Field(description="false: no schedule, the whole window counted")


class OEESnapshot(SQLModel):
    machine_id: uuid.UUID
    start: datetime = Field(description="window start (UTC)")
    end: datetime = Field(description="window end (UTC), never later than now")
    availability: float | None = Field(description="run time / planned time (0..1)")
    performance: float | None = Field(
        description="ideal cycle time x total / run time (0..1; above 1 only when flagged)"
    )
    quality: float | None = Field(description="good / total (0..1)")
    oee: float | None = Field(description="availability x performance x quality")
    inputs: OEEInputsPublic
    flags: list[OEEFlagPublic] = Field(description="edges met; a null factor always has one")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "machine_id": "7d3f8f8e-2f0a-4a43-9d55-2b1f3d1c9a10",
                    "start": "2026-01-05T05:00:00Z",
                    "end": "2026-01-05T13:00:00Z",
                    "availability": 0.8956,
                    "performance": 0.9231,
                    "quality": 0.9489,
                    "oee": 0.7844,
                    "inputs": {
                        "scheduled_time_s": 28800.0,
                        "planned_stop_s": 1800.0,
                        "planned_time_s": 27000.0,
                        "unplanned_downtime_s": 2820.0,
                        "run_time_s": 24180.0,
                        "ideal_cycle_time_s": 60.0,
                        "total_count": 372,
                        "good_count": 353,
                        "scrap_count": 19,
                        "shift_schedule": True,
                    },
                    "flags": [],
                }
            ]
        }
    }


__all__ = [
    "CycleBatch",
    "CycleBatchResult",
    "CycleItem",
    "CycleItemResult",
    "CycleItemStatus",
    "CycleSubmission",
    "CycleSubmissionPublic",
    "OEEFlagPublic",
    "OEEInputsPublic",
    "OEESnapshot",
    "ProductionRun",
    "ProductionRunPublic",
    "RunStart",
    "RunStatus",
    "RunStop",
]
