"""Spare parts: stock with min/max levels and a unit price (integer minor units + currency).

Stock only goes down through ``consume_stock``: one conditional UPDATE (``stock >= qty``), so
two work orders drawing the last part at the same moment cannot take the stock below zero.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.maintenance import (
    SparePart,
    SparePartCreate,
    SparePartPublic,
    SparePartUpdate,
    WorkOrderPart,
)
from plantsync.core.paging import Page
from plantsync.core.services.plant_common import (
    apply_values,
    commit_or_conflict,
    get_owned,
    keyset_page,
    where_equal,
    where_search,
)
from plantsync.core.services.sites import resolve_site_ref
from plantsync.errors import ConflictError, ValidationError


def to_public(part: SparePart) -> SparePartPublic:
    return SparePartPublic.model_validate(
        {**part.model_dump(), "below_min": part.stock < part.min_stock}
    )


def get_part(*, session: Session, tenant_id: uuid.UUID, part_id: uuid.UUID) -> SparePart:
    return get_owned(session, SparePart, tenant_id, part_id, "spare part")


def find_part(*, session: Session, tenant_id: uuid.UUID, part_number: str) -> SparePart | None:
    p: Any = SparePart
    return session.execute(
        select(SparePart).where(p.tenant_id == tenant_id, p.part_number == part_number)
    ).scalar_one_or_none()


def _check_levels(min_stock: int, max_stock: int | None) -> None:
    if max_stock is not None and max_stock < min_stock:
        raise ValidationError.single("max_stock", "must be at least min_stock")


def create_part(
    *, session: Session, tenant_id: uuid.UUID, data: SparePartCreate, clock: Clock = SYSTEM_CLOCK
) -> SparePart:
    _check_levels(data.min_stock, data.max_stock)
    if find_part(session=session, tenant_id=tenant_id, part_number=data.part_number):
        raise ConflictError(f"A spare part {data.part_number!r} already exists")
    resolve_site_ref(session=session, tenant_id=tenant_id, site_id=data.site_id, site_code=None)
    now = clock.now()
    part = SparePart(**data.model_dump(), tenant_id=tenant_id, created_at=now, updated_at=now)
    session.add(part)
    commit_or_conflict(session, f"A spare part {data.part_number!r} already exists")
    return part


def list_parts(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    site_id: uuid.UUID | None = None,
    below_min: bool | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SparePartPublic]:
    """Parts by part number; ``below_min=true`` lists what needs re-ordering."""
    p: Any = SparePart
    stmt = select(SparePart).where(p.tenant_id == tenant_id)
    stmt = where_equal(stmt, (p.site_id, site_id))
    if below_min is not None:
        stmt = stmt.where(p.stock < p.min_stock if below_min else p.stock >= p.min_stock)
    stmt = where_search(stmt, q, p.part_number, p.name)
    rows, nxt = keyset_page(session, stmt, order=[p.part_number, p.id], limit=limit, cursor=cursor)
    return Page[SparePartPublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_part(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    part_id: uuid.UUID,
    data: SparePartUpdate,
    clock: Clock = SYSTEM_CLOCK,
) -> SparePart:
    """Applies the given fields (an admin's stock count or receipt sets ``stock``)."""
    part = get_part(session=session, tenant_id=tenant_id, part_id=part_id)
    values = data.model_dump(exclude_unset=True)
    for field in ("name", "stock", "min_stock", "unit_price_minor", "currency"):
        if field in values and values[field] is None:
            raise ValidationError.single(field, "may not be null")
    if "site_id" in values:
        resolve_site_ref(
            session=session, tenant_id=tenant_id, site_id=values["site_id"], site_code=None
        )
    _check_levels(values.get("min_stock", part.min_stock), values.get("max_stock", part.max_stock))
    apply_values(part, values)
    part.updated_at = clock.now()
    session.commit()
    return part


def delete_part(*, session: Session, tenant_id: uuid.UUID, part_id: uuid.UUID) -> None:
    """Deletes a part no work order used; 409 otherwise."""
    part = get_part(session=session, tenant_id=tenant_id, part_id=part_id)
    w: Any = WorkOrderPart
    if session.execute(select(w.id).where(w.spare_part_id == part_id).limit(1)).first():
        raise ConflictError(f"Spare part {part.part_number} was used on work orders")
    session.delete(part)
    session.commit()


def consume_stock(
    *, session: Session, part: SparePart, quantity: int, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Takes ``quantity`` from ``part``'s stock in the caller's transaction; returns the stock
    left. ``ConflictError`` (409) when there is not enough: stock never goes negative."""
    p: Any = SparePart
    result: Any = session.execute(
        update(SparePart)
        .where(p.id == part.id, p.stock >= quantity)
        .values(stock=p.stock - quantity, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(part)
        raise ConflictError(
            f"Not enough stock of {part.part_number}: {part.stock} left, {quantity} requested"
        )
    session.refresh(part)
    return part.stock
