"""What is booked on a work order: labor entries and parts used. Each adds to the order's cost
totals in the same transaction; parts take their quantity from spare-part stock, which never
goes negative. Nothing is booked on a closed or cancelled order.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.maintenance import (
    LaborCreate,
    LaborPublic,
    PartUseCreate,
    PartUsePublic,
    WorkOrder,
    WorkOrderLabor,
    WorkOrderPart,
)
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.spare_parts import consume_stock, find_part, get_part
from plantsync.core.services.work_orders import CLOSED_STATUSES, get_work_order
from plantsync.errors import ConflictError, ValidationError


def _check_open(wo: WorkOrder) -> None:
    if wo.status in CLOSED_STATUSES:
        raise ConflictError(
            f"Work order {wo.number} is {wo.status.value}: nothing can be booked on it"
        )


def add_labor(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    work_order_id: uuid.UUID,
    data: LaborCreate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> WorkOrderLabor:
    """Books labor: cost = hours x rate, rounded half-even to a minor unit; adds it to the
    order's labor cost."""
    wo = get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    _check_open(wo)
    currency = data.currency or wo.currency
    if currency != wo.currency:
        raise ValidationError.single("currency", f"must be the work order's currency {wo.currency}")
    cost = int((Decimal(str(data.hours)) * data.rate_minor).quantize(Decimal(1), ROUND_HALF_EVEN))
    now = clock.now()
    labor = WorkOrderLabor(
        tenant_id=tenant_id, work_order_id=wo.id, worker=data.worker, hours=data.hours,
        rate_minor=data.rate_minor, currency=currency, cost_minor=cost,
        performed_at=data.performed_at or now, created_at=now,
    )  # fmt: skip
    session.add(labor)
    wo.labor_cost_minor += cost
    stamp_change(session, wo, origin, clock=clock)
    session.commit()
    return labor


def add_part(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    work_order_id: uuid.UUID,
    data: PartUseCreate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> PartUsePublic:
    """Books parts: takes them from stock (409 when short, nothing booked) and adds
    quantity x unit price to the order's parts cost, in one transaction."""
    wo = get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    _check_open(wo)
    part = _resolve_part(session, tenant_id, data)
    if part.currency != wo.currency:
        raise ValidationError.single(
            "spare_part_id", f"priced in {part.currency}, the work order in {wo.currency}"
        )
    left = consume_stock(session=session, part=part, quantity=data.quantity, clock=clock)
    use = WorkOrderPart(
        tenant_id=tenant_id, work_order_id=wo.id, spare_part_id=part.id, quantity=data.quantity,
        unit_price_minor=part.unit_price_minor, currency=part.currency,
        cost_minor=part.unit_price_minor * data.quantity, created_at=clock.now(),
    )  # fmt: skip
    session.add(use)
    wo.parts_cost_minor += use.cost_minor
    stamp_change(session, wo, origin, clock=clock)
    session.commit()
    return PartUsePublic.model_validate({**use.model_dump(), "stock_after": left})


def _resolve_part(session: Session, tenant_id: uuid.UUID, data: PartUseCreate) -> Any:
    if data.spare_part_id is not None:
        try:
            return get_part(session=session, tenant_id=tenant_id, part_id=data.spare_part_id)
        except Exception as exc:
            raise ValidationError.single(
                "spare_part_id", f"no spare part {data.spare_part_id}"
            ) from exc
    if data.part_number:
        part = find_part(session=session, tenant_id=tenant_id, part_number=data.part_number)
        if part is None:
            raise ValidationError.single("part_number", f"no spare part {data.part_number!r}")
        return part
    raise ValidationError.single("spare_part_id", "give spare_part_id or part_number")


def list_labor(
    *, session: Session, tenant_id: uuid.UUID, work_order_id: uuid.UUID
) -> list[LaborPublic]:
    get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    lab: Any = WorkOrderLabor
    rows = session.execute(
        select(WorkOrderLabor)
        .where(lab.work_order_id == work_order_id)
        .order_by(lab.performed_at, lab.id)
    ).scalars()
    return [LaborPublic.model_validate(r, from_attributes=True) for r in rows]


def list_part_uses(
    *, session: Session, tenant_id: uuid.UUID, work_order_id: uuid.UUID
) -> list[WorkOrderPart]:
    get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    use: Any = WorkOrderPart
    return list(
        session.execute(
            select(WorkOrderPart)
            .where(use.work_order_id == work_order_id)
            .order_by(use.created_at, use.id)
        ).scalars()
    )
