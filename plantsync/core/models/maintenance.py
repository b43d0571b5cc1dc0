"""Work orders (production and maintenance) with labor and parts; spare parts; the failure-mode
and root-cause libraries. Money is integer minor units plus an ISO 4217 currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime
from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.core.models.change import ChangeTracked, OriginKind, change_index
from plantsync.core.models.plant import CODE_PATTERN

CURRENCY_PATTERN = r"^[A-Z]{3}$"
DEFAULT_CURRENCY = "EUR"


def _currency(default: str | None = DEFAULT_CURRENCY) -> str:
    return Field(  # type: ignore[no-any-return]
        default=default,
        min_length=3,
        max_length=3,
        schema_extra={"pattern": CURRENCY_PATTERN},
        description="ISO 4217",
    )


# --- work orders -----------------------------------------------------------------------------


class WorkOrderKind(StrEnum):
    production = "production"
    maintenance = "maintenance"


class WorkOrderStatus(StrEnum):
    draft = "draft"
    released = "released"
    in_progress = "in_progress"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"


# Upper bounds of client input: within the 32-bit INTEGER columns of quantities on both
# databases, and money small enough that quantity x price stays inside a BIGINT. Without them
# an over-large number reached the database and answered 500.
MAX_QUANTITY = 1_000_000_000
MAX_MONEY_MINOR = 1_000_000_000_000


class WorkOrderBase(SQLModel):
    number: str = Field(min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN})
    kind: WorkOrderKind = WorkOrderKind.production
    product_code: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    quantity_planned: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    quantity_good: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    quantity_scrap: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    priority: int = Field(default=3, ge=1, le=4, description="1 (highest) to 4")
    planned_start: AwareDatetime | None = Field(default=None)
    planned_end: AwareDatetime | None = Field(default=None)
    cost_center: str | None = Field(default=None, max_length=64)
    currency: str = _currency()


class WorkOrder(WorkOrderBase, ChangeTracked, table=True):
    __tablename__ = "work_order"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_work_order_tenant_number"),
        change_index("work_order"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    machine_id: uuid.UUID | None = Field(default=None, foreign_key="machine.id", index=True)
    site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id", index=True)
    status: WorkOrderStatus = Field(default=WorkOrderStatus.draft, max_length=16, index=True)
    planned_start: datetime | None = utc_field(nullable=True)
    planned_end: datetime | None = utc_field(nullable=True)
    actual_start: datetime | None = utc_field(nullable=True)
    actual_end: datetime | None = utc_field(nullable=True)
    labor_cost_minor: int = Field(default=0, sa_type=BigInteger)
    parts_cost_minor: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = utc_field()


class WorkOrderCreate(WorkOrderBase):
    machine_id: uuid.UUID | None = None
    machine_code: str | None = Field(default=None, max_length=64, description="instead of id")
    site_id: uuid.UUID | None = None
    site_code: str | None = Field(default=None, max_length=64)
    status: WorkOrderStatus = WorkOrderStatus.draft


class WorkOrderUpdate(SQLModel):
    """Fields an admin may change; the status changes only through ``PUT .../status``."""

    kind: WorkOrderKind | None = None
    product_code: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    quantity_planned: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    quantity_good: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    quantity_scrap: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    priority: int | None = Field(default=None, ge=1, le=4)
    planned_start: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    cost_center: str | None = Field(default=None, max_length=64)
    machine_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


class WorkOrderPublic(WorkOrderBase):
    id: uuid.UUID
    machine_id: uuid.UUID | None
    site_id: uuid.UUID | None
    status: WorkOrderStatus
    actual_start: datetime | None
    actual_end: datetime | None
    labor_cost_minor: int
    parts_cost_minor: int
    total_cost_minor: int
    created_at: datetime
    updated_at: datetime
    origin_kind: OriginKind


class WorkOrderStatusSet(SQLModel):
    status: WorkOrderStatus
    at: AwareDatetime | None = Field(default=None, description="when (default: now)")


class WorkOrderLabor(SQLModel, table=True):
    __tablename__ = "work_order_labor"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    work_order_id: uuid.UUID = Field(foreign_key="work_order.id", index=True)
    worker: str = Field(max_length=200)
    hours: float
    rate_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    cost_minor: int = Field(sa_type=BigInteger)
    performed_at: datetime = utc_field()
    created_at: datetime = utc_field()


class LaborCreate(SQLModel):
    worker: str = Field(min_length=1, max_length=200, description="worker name or badge id")
    hours: float = Field(gt=0, le=24)
    rate_minor: int = Field(
        ge=0, le=MAX_MONEY_MINOR, description="hourly rate in minor units of the currency"
    )
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, schema_extra={"pattern": CURRENCY_PATTERN},
        description="must match the work order's currency (default: it)",
    )  # fmt: skip
    performed_at: AwareDatetime | None = None


class LaborPublic(SQLModel):
    id: uuid.UUID
    work_order_id: uuid.UUID
    worker: str
    hours: float
    rate_minor: int
    currency: str
    cost_minor: int
    performed_at: datetime


class WorkOrderPart(SQLModel, table=True):
    __tablename__ = "work_order_part"

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    work_order_id: uuid.UUID = Field(foreign_key="work_order.id", index=True)
    spare_part_id: uuid.UUID = Field(foreign_key="spare_part.id", index=True)
    quantity: int
    unit_price_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    cost_minor: int = Field(sa_type=BigInteger)
    created_at: datetime = utc_field()


class PartUseCreate(SQLModel):
    spare_part_id: uuid.UUID | None = None
    part_number: str | None = Field(default=None, max_length=64, description="instead of id")
    quantity: int = Field(gt=0, le=1_000_000)


class PartUsePublic(SQLModel):
    id: uuid.UUID
    work_order_id: uuid.UUID
    spare_part_id: uuid.UUID
    quantity: int
    unit_price_minor: int
    currency: str
    cost_minor: int
    stock_after: int


# --- spare parts -----------------------------------------------------------------------------


class SparePartBase(SQLModel):
    part_number: str = Field(min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    location: str | None = Field(default=None, max_length=100, description="store / bin")
    stock: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    min_stock: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    max_stock: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    unit_price_minor: int = Field(default=0, ge=0, le=MAX_MONEY_MINOR, sa_type=BigInteger)
    currency: str = _currency()


class SparePart(SparePartBase, table=True):
    __tablename__ = "spare_part"
    __table_args__ = (
        UniqueConstraint("tenant_id", "part_number", name="uq_spare_part_tenant_number"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    site_id: uuid.UUID | None = Field(default=None, foreign_key="site.id", index=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class SparePartCreate(SparePartBase):
    site_id: uuid.UUID | None = None


class SparePartUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    location: str | None = Field(default=None, max_length=100)
    stock: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    min_stock: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    max_stock: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    unit_price_minor: int | None = Field(default=None, ge=0, le=MAX_MONEY_MINOR)
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, schema_extra={"pattern": CURRENCY_PATTERN}
    )
    site_id: uuid.UUID | None = None


class SparePartPublic(SparePartBase):
    id: uuid.UUID
    site_id: uuid.UUID | None
    below_min: bool
    created_at: datetime
    updated_at: datetime


# --- failure modes and root causes ----------------------------------------------------------


class LibraryEntryBase(SQLModel):
    code: str = Field(min_length=1, max_length=64, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    machine_type: str | None = Field(default=None, max_length=100, description="applies to")
    is_active: bool = True


class FailureMode(LibraryEntryBase, table=True):
    __tablename__ = "failure_mode"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_failure_mode_tenant_code"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    created_at: datetime = utc_field()


class RootCause(LibraryEntryBase, table=True):
    __tablename__ = "root_cause"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_root_cause_tenant_code"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    created_at: datetime = utc_field()


class LibraryEntryCreate(LibraryEntryBase):
    pass


class LibraryEntryUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    machine_type: str | None = Field(default=None, max_length=100)
    is_active: bool | None = None


class LibraryEntryPublic(LibraryEntryBase):
    id: uuid.UUID
    created_at: datetime
