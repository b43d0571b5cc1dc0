"""``/api/v1/work-orders``: production and maintenance orders, status, labor, parts, bulk."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from plantsync.api.deps import Admin, AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes.machines import BulkItems
from plantsync.api.routes.plant_examples import (
    BULK,
    BULK_DESCRIPTION,
    ID,
    T0,
    WO_ID,
    WORK_ORDER,
    WORK_ORDER_IN,
    answers,
    body,
    page,
)
from plantsync.core.models.maintenance import (
    LaborCreate,
    LaborPublic,
    PartUseCreate,
    PartUsePublic,
    WorkOrderCreate,
    WorkOrderKind,
    WorkOrderPublic,
    WorkOrderStatus,
    WorkOrderStatusSet,
    WorkOrderUpdate,
)
from plantsync.core.paging import Page
from plantsync.core.services import work_order_costs, work_orders
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.plant_common import BulkResult

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"])

_LABOR = {"id": ID, "work_order_id": WO_ID, "worker": "J. Meyer", "hours": 1.5,
          "rate_minor": 6000, "currency": "EUR", "cost_minor": 9000, "performed_at": T0}  # fmt: skip
_PART_USE = {"id": ID, "work_order_id": WO_ID, "spare_part_id": ID, "quantity": 2,
             "unit_price_minor": 1225, "currency": "EUR", "cost_minor": 2450, "stock_after": 12}  # fmt: skip
_TRANSITIONS = "; ".join(
    f"{s.value} -> {', '.join(sorted(t)) or '(final)'}" for s, t in work_orders.TRANSITIONS.items()
)


@router.get("", response_model=Page[WorkOrderPublic], responses=answers(page(WORK_ORDER)))
def list_work_orders(
    caller: AnyRole,
    session: ReadSession,
    status: WorkOrderStatus | None = None,
    kind: WorkOrderKind | None = None,
    machine_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    q: Annotated[str | None, Query(max_length=100, description="number, product, text")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[WorkOrderPublic]:
    """Work orders by number (then id), keyset-paged."""
    return work_orders.list_work_orders(
        session=session, tenant_id=caller.tenant_id, status=status, kind=kind,
        machine_id=machine_id, site_id=site_id, priority=priority, q=q, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WorkOrderPublic,
    responses=answers(WORK_ORDER, 201),
)  # fmt: skip
def create_work_order(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[WorkOrderCreate, body("A maintenance order", WORK_ORDER_IN)],
) -> WorkOrderPublic:
    """Creates a work order; 409 if the number exists."""
    wo = work_orders.create_work_order(
        session=session, tenant_id=caller.tenant_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
    return work_orders.to_public(wo)


@router.post(
    "/bulk", response_model=BulkResult, responses=answers(BULK),
    description=BULK_DESCRIPTION + " Matched by `number`; a status change must be a legal "
    "transition.",
)  # fmt: skip
def bulk_upsert(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[BulkItems, body("Orders", {"items": [WORK_ORDER_IN]})],
) -> BulkResult:
    return work_orders.upsert_work_orders(
        session=session, tenant_id=caller.tenant_id, items=data.items,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip


@router.get("/{work_order_id}", response_model=WorkOrderPublic, responses=answers(WORK_ORDER))
def get_work_order(
    caller: AnyRole, session: ReadSession, work_order_id: uuid.UUID
) -> WorkOrderPublic:
    wo = work_orders.get_work_order(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id
    )
    return work_orders.to_public(wo)


@router.patch("/{work_order_id}", response_model=WorkOrderPublic, responses=answers(WORK_ORDER))
def update_work_order(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    work_order_id: uuid.UUID,
    data: Annotated[WorkOrderUpdate, body("Raise priority", {"priority": 1})],
) -> WorkOrderPublic:
    """Changes the given fields; the status changes through ``PUT .../status``."""
    wo = work_orders.update_work_order(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
    return work_orders.to_public(wo)


@router.delete("/{work_order_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_work_order(caller: Admin, session: WriteSession, work_order_id: uuid.UUID) -> Response:
    """Deletes a draft or cancelled order without bookings (409 otherwise)."""
    work_orders.delete_work_order(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{work_order_id}/status", response_model=WorkOrderPublic, responses=answers(WORK_ORDER),
    description=f"Allowed transitions: {_TRANSITIONS}. Anything else answers 409.",
)  # fmt: skip
def set_status(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    work_order_id: uuid.UUID,
    data: Annotated[WorkOrderStatusSet, body("Start work", {"status": "in_progress"})],
) -> WorkOrderPublic:
    wo = work_orders.set_status(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id,
        status=data.status, origin=ChangeOrigin.from_principal(caller), at=data.at, clock=clock,
    )  # fmt: skip
    return work_orders.to_public(wo)


@router.post(
    "/{work_order_id}/labor", status_code=status.HTTP_201_CREATED, response_model=LaborPublic,
    responses=answers(_LABOR, 201),
)  # fmt: skip
def add_labor(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    work_order_id: uuid.UUID,
    data: Annotated[
        LaborCreate,
        body("90 minutes at 60.00/h", {"worker": "J. Meyer", "hours": 1.5, "rate_minor": 6000}),
    ],
) -> LaborPublic:
    """Books labor (hours x hourly rate) and adds it to the order's labor cost."""
    labor = work_order_costs.add_labor(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
    return LaborPublic.model_validate(labor, from_attributes=True)


@router.get("/{work_order_id}/labor", response_model=list[LaborPublic], responses=answers([_LABOR]))
def list_labor(
    caller: AnyRole, session: ReadSession, work_order_id: uuid.UUID
) -> list[LaborPublic]:
    return work_order_costs.list_labor(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id
    )


@router.post(
    "/{work_order_id}/parts", status_code=status.HTTP_201_CREATED, response_model=PartUsePublic,
    responses={**answers(_PART_USE, 201), 409: {"description": "Not enough stock"}},
)  # fmt: skip
def add_part(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    work_order_id: uuid.UUID,
    data: Annotated[PartUseCreate, body("Two seals", {"part_number": "SEAL-80", "quantity": 2})],
) -> PartUsePublic:
    """Takes parts from stock (409 when short: nothing is booked) and adds their cost."""
    return work_order_costs.add_part(
        session=session, tenant_id=caller.tenant_id, work_order_id=work_order_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
