"""``/api/v1/spare-parts``: stock, min/max levels and unit prices (admin writes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from plantsync.api.deps import Admin, AnyRole, ClockDep, ReadSession, WriteSession
from plantsync.api.routes.plant_examples import PART, PART_IN, answers, body, page
from plantsync.core.models.maintenance import SparePartCreate, SparePartPublic, SparePartUpdate
from plantsync.core.paging import Page
from plantsync.core.services import spare_parts

router = APIRouter(prefix="/api/v1/spare-parts", tags=["spare parts"])


@router.get("", response_model=Page[SparePartPublic], responses=answers(page(PART)))
def list_parts(
    caller: AnyRole,
    session: ReadSession,
    site_id: uuid.UUID | None = None,
    below_min: Annotated[bool | None, Query(description="true: parts to re-order")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[SparePartPublic]:
    """Parts by part number (then id)."""
    return spare_parts.list_parts(
        session=session, tenant_id=caller.tenant_id, site_id=site_id, below_min=below_min, q=q,
        limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=SparePartPublic,
    responses=answers(PART, 201),
)  # fmt: skip
def create_part(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[SparePartCreate, body("A seal", PART_IN)],
) -> SparePartPublic:
    part = spare_parts.create_part(
        session=session, tenant_id=caller.tenant_id, data=data, clock=clock
    )
    return spare_parts.to_public(part)


@router.get("/{part_id}", response_model=SparePartPublic, responses=answers(PART))
def get_part(caller: AnyRole, session: ReadSession, part_id: uuid.UUID) -> SparePartPublic:
    return spare_parts.to_public(
        spare_parts.get_part(session=session, tenant_id=caller.tenant_id, part_id=part_id)
    )


@router.patch("/{part_id}", response_model=SparePartPublic, responses=answers(PART))
def update_part(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    part_id: uuid.UUID,
    data: Annotated[SparePartUpdate, body("Stock count", {"stock": 20})],
) -> SparePartPublic:
    part = spare_parts.update_part(
        session=session, tenant_id=caller.tenant_id, part_id=part_id, data=data, clock=clock
    )
    return spare_parts.to_public(part)


@router.delete("/{part_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_part(caller: Admin, session: WriteSession, part_id: uuid.UUID) -> Response:
    """Deletes a part that no work order used (409 otherwise)."""
    spare_parts.delete_part(session=session, tenant_id=caller.tenant_id, part_id=part_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
