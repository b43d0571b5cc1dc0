"""Work orders (production and maintenance): CRUD, status transitions, bulk upserts.

Status moves only along ``TRANSITIONS``; anything else is a ``ConflictError`` (409) that names
the allowed next states. Labor and parts booked on an order: ``work_order_costs``.
Inbound syncs (``OriginKind.sync``) may set any status: the ERP is the master of its orders.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.change import OriginKind
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import (
    WorkOrder,
    WorkOrderCreate,
    WorkOrderKind,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderPublic,
    WorkOrderStatus,
    WorkOrderUpdate,
)
from plantsync.core.paging import Page
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.machines import resolve_machine_ref
from plantsync.core.services.plant_common import (
    BulkItemResult,
    BulkOutcome,
    BulkResult,
    apply_values,
    changed_fields,
    commit_or_conflict,
    get_owned,
    keyset_page,
    run_bulk,
    validate_item,
    where_equal,
    where_search,
)
from plantsync.core.services.sites import resolve_site_ref
from plantsync.errors import ConflictError, ValidationError

S = WorkOrderStatus
TRANSITIONS: dict[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    S.draft: frozenset({S.released, S.cancelled}),
    S.released: frozenset({S.draft, S.in_progress, S.cancelled}),
    S.in_progress: frozenset({S.completed, S.cancelled}),
    S.completed: frozenset({S.closed, S.in_progress}),  # reopen when the work was not done
    S.closed: frozenset(),
    S.cancelled: frozenset(),
}
CLOSED_STATUSES = frozenset({S.closed, S.cancelled})


def to_public(wo: WorkOrder) -> WorkOrderPublic:
    return WorkOrderPublic.model_validate(
        {**wo.model_dump(), "total_cost_minor": wo.labor_cost_minor + wo.parts_cost_minor}
    )


def get_work_order(
    *, session: Session, tenant_id: uuid.UUID, work_order_id: uuid.UUID
) -> WorkOrder:
    return get_owned(session, WorkOrder, tenant_id, work_order_id, "work order")


def find_work_order(*, session: Session, tenant_id: uuid.UUID, number: str) -> WorkOrder | None:
    w: Any = WorkOrder
    return session.execute(
        select(WorkOrder).where(w.tenant_id == tenant_id, w.number == number)
    ).scalar_one_or_none()


def check_transition(current: WorkOrderStatus, new: WorkOrderStatus) -> None:
    """``ConflictError`` unless ``current -> new`` is allowed."""
    if new == current or new in TRANSITIONS[current]:
        return
    allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
    raise ConflictError(
        f"A work order cannot go from {current.value} to {new.value}; allowed: {allowed}"
    )


def _check_dates(start: datetime | None, end: datetime | None) -> None:
    if start and end and end < start:
        raise ValidationError.single("planned_end", "must not be before planned_start")


def create_work_order(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: WorkOrderCreate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> WorkOrder:
    """Creates a work order; ``ConflictError`` if its number exists in the tenant."""
    wo = _new_work_order(session, tenant_id, data, origin, clock)
    _commit(session, data.number)
    return wo


def _new_work_order(
    session: Session,
    tenant_id: uuid.UUID,
    data: WorkOrderCreate,
    origin: ChangeOrigin,
    clock: Clock,
    *,
    known_new: bool = False,
) -> WorkOrder:
    if not known_new and find_work_order(session=session, tenant_id=tenant_id, number=data.number):
        raise ConflictError(f"A work order {data.number!r} already exists")
    refs = _refs(session, tenant_id, data.model_dump(exclude_unset=True))
    _check_dates(data.planned_start, data.planned_end)
    values = data.model_dump(exclude={"machine_id", "machine_code", "site_id", "site_code"})
    wo = WorkOrder(**values, **refs, tenant_id=tenant_id, created_at=clock.now())
    if wo.status in (S.in_progress, S.completed, S.closed):
        wo.actual_start = clock.now()
    stamp_change(session, wo, origin, clock=clock)
    return wo


def _refs(session: Session, tenant_id: uuid.UUID, values: dict[str, Any]) -> dict[str, Any]:
    """machine_id / site_id resolved from ids or codes present in ``values``."""
    refs: dict[str, Any] = {}
    if "machine_id" in values or "machine_code" in values:
        refs["machine_id"] = resolve_machine_ref(
            session=session,
            tenant_id=tenant_id,
            machine_id=values.get("machine_id"),
            machine_code=values.get("machine_code"),
        )
    if "site_id" in values or "site_code" in values:
        refs["site_id"] = resolve_site_ref(
            session=session,
            tenant_id=tenant_id,
            site_id=values.get("site_id"),
            site_code=values.get("site_code"),
        )
    return refs


def _commit(session: Session, number: str) -> None:
    commit_or_conflict(session, f"A work order {number!r} already exists")


def list_work_orders(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    status: WorkOrderStatus | None = None,
    kind: WorkOrderKind | None = None,
    machine_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    priority: int | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[WorkOrderPublic]:
    """Work orders by number (then id); ``q`` searches number, product and description."""
    w: Any = WorkOrder
    stmt = select(WorkOrder).where(w.tenant_id == tenant_id)
    stmt = where_equal(
        stmt,
        (w.status, status),
        (w.kind, kind),
        (w.machine_id, machine_id),
        (w.site_id, site_id),
        (w.priority, priority),
    )
    stmt = where_search(stmt, q, w.number, w.product_code, w.description)
    rows, nxt = keyset_page(session, stmt, order=[w.number, w.id], limit=limit, cursor=cursor)
    return Page[WorkOrderPublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_work_order(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    work_order_id: uuid.UUID,
    data: WorkOrderUpdate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> WorkOrder:
    wo = get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    values = data.model_dump(exclude_unset=True)
    _apply_changes(session, tenant_id, wo, values, origin, clock)
    session.commit()
    return wo


def _apply_changes(
    session: Session,
    tenant_id: uuid.UUID,
    wo: WorkOrder,
    values: dict[str, Any],
    origin: ChangeOrigin,
    clock: Clock,
) -> bool:
    for field in (
        "kind",
        "quantity_planned",
        "quantity_good",
        "quantity_scrap",
        "priority",
        "currency",
    ):
        if field in values and values[field] is None:
            raise ValidationError.single(field, "may not be null")
    values.update(_refs(session, tenant_id, values))
    values.pop("machine_code", None)
    values.pop("site_code", None)
    _check_dates(
        values.get("planned_start", wo.planned_start), values.get("planned_end", wo.planned_end)
    )
    if (
        "currency" in values
        and values["currency"] != wo.currency
        and (wo.labor_cost_minor or wo.parts_cost_minor)
    ):
        raise ConflictError("The currency cannot change once labor or parts are booked")
    diff = changed_fields(wo, values)
    if diff:
        apply_values(wo, diff)
        stamp_change(session, wo, origin, clock=clock)
    return bool(diff)


def delete_work_order(*, session: Session, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> None:
    """Deletes a draft or cancelled order without bookings; 409 otherwise (cancel it instead)."""
    wo = get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    if wo.status not in (S.draft, S.cancelled):
        raise ConflictError(f"Work order {wo.number} is {wo.status.value}; cancel it instead")
    for model in (WorkOrderLabor, WorkOrderPart, DowntimeEvent):
        ref: Any = model
        if session.execute(select(ref.id).where(ref.work_order_id == wo.id).limit(1)).first():
            raise ConflictError(
                f"Work order {wo.number} has {ref.__tablename__} rows; cancel it instead"
            )
    session.delete(wo)
    session.commit()


def apply_status(
    *, session: Session, wo: WorkOrder, status: WorkOrderStatus, at: datetime,
    origin: ChangeOrigin, clock: Clock = SYSTEM_CLOCK, enforce: bool = True,
) -> bool:  # fmt: skip
    """Moves ``wo`` to ``status`` inside the caller's transaction; keeps actual dates.

    Returns False when it already had that status.
    """
    if wo.status == status:
        return False
    if enforce:
        check_transition(wo.status, status)
    if status == S.in_progress:
        wo.actual_start = wo.actual_start or at
        wo.actual_end = None
    elif status in (S.completed, S.closed) and wo.actual_end is None:
        wo.actual_start = wo.actual_start or at
        wo.actual_end = at
    wo.status = status
    stamp_change(session, wo, origin, clock=clock)
    return True


def set_status(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    work_order_id: uuid.UUID,
    status: WorkOrderStatus,
    origin: ChangeOrigin,
    at: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> WorkOrder:
    """Changes the status along ``TRANSITIONS`` (409 otherwise) and commits."""
    wo = get_work_order(session=session, tenant_id=tenant_id, work_order_id=work_order_id)
    apply_status(
        session=session, wo=wo, status=status, at=at or clock.now(), origin=origin, clock=clock
    )
    session.commit()
    return wo


def upsert_work_orders(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    items: list[Any],
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> BulkResult:
    """Creates or updates work orders matched by ``number``; one result per item (see
    ``run_bulk``: not all-or-nothing). Existing orders get only the fields an item sets; a
    status change must be a legal transition unless the origin is an inbound sync."""
    first_index: dict[str, int] = {}  # number -> the item that claimed it first
    existing: dict[str, WorkOrder] = {}

    def prepare(chunk: Any) -> None:
        # The chunk's existing orders in one query instead of one lookup per item.
        w: Any = WorkOrder
        numbers = sorted({n for n in (_number_of(r) for r in chunk) if n})
        existing.clear()
        existing.update({
            wo.number: wo
            for wo in session.execute(
                select(WorkOrder).where(w.tenant_id == tenant_id, w.number.in_(numbers))
            ).scalars()
        })  # fmt: skip

    def handle(index: int, raw: Any) -> BulkItemResult:
        data: WorkOrderCreate = validate_item(WorkOrderCreate, raw)
        if first_index.setdefault(data.number, index) != index:
            raise ValidationError.single("number", f"{data.number!r} appears twice in this request")
        wo = existing.get(data.number)
        if wo is None:
            created = _new_work_order(session, tenant_id, data, origin, clock, known_new=True)
            return BulkItemResult(
                index=index, key=data.number, outcome=BulkOutcome.created, id=created.id
            )
        values = data.model_dump(exclude_unset=True, exclude={"number"})
        status = values.pop("status", None)
        if status is not None and origin.kind != OriginKind.sync:
            check_transition(wo.status, status)
        changed = _apply_changes(session, tenant_id, wo, values, origin, clock)
        if status is not None:
            changed |= apply_status(
                session=session, wo=wo, status=status, at=clock.now(), origin=origin,
                clock=clock, enforce=False,
            )  # fmt: skip
        outcome = BulkOutcome.updated if changed else BulkOutcome.unchanged
        return BulkItemResult(index=index, key=data.number, outcome=outcome, id=wo.id)

    return run_bulk(session, items, handle, key_field="number", prepare=prepare)


def _number_of(raw: Any) -> str | None:
    value = raw.get("number") if isinstance(raw, dict) else getattr(raw, "number", None)
    return value if isinstance(value, str) else None
