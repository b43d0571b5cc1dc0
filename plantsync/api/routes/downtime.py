"""``/api/v1/downtime``: downtime events (operators write; API keys only their machines)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from plantsync.api.deps import Admin, AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes.machines import BulkItems
from plantsync.api.routes.plant_examples import (
    BULK,
    BULK_DESCRIPTION,
    DOWNTIME,
    DOWNTIME_IN,
    T1,
    answers,
    body,
    page,
)
from plantsync.core.models.downtime import (
    DowntimeCreate,
    DowntimePublic,
    DowntimeSource,
    DowntimeUpdate,
)
from plantsync.core.paging import Page
from plantsync.core.services import downtime
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.plant_common import BulkResult

router = APIRouter(prefix="/api/v1/downtime", tags=["downtime"])


@router.get("", response_model=Page[DowntimePublic], responses=answers(page(DOWNTIME)))
def list_downtime(
    caller: AnyRole,
    session: ReadSession,
    machine_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    planned: bool | None = None,
    source: DowntimeSource | None = None,
    reason_code: str | None = None,
    open: Annotated[bool | None, Query(description="true: still running")] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="overlapping from")] = None,
    to: Annotated[datetime | None, Query(description="overlapping until")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[DowntimePublic]:
    """Events newest first (``started_at`` desc, then id), keyset-paged."""
    return downtime.list_downtime(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, site_id=site_id,
        planned=planned, source=source, reason_code=reason_code, is_open=open, start=from_,
        end=to, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=DowntimePublic,
    responses=answers(DOWNTIME, 201),
)  # fmt: skip
def create_downtime(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[DowntimeCreate, body("A 42-minute jam", DOWNTIME_IN)],
) -> DowntimePublic:
    """Records a downtime event (open while ``ended_at`` is null)."""
    event = downtime.create_downtime(
        session=session, tenant_id=caller.tenant_id, data=data,
        origin=ChangeOrigin.from_principal(caller), principal=caller, clock=clock,
    )  # fmt: skip
    return downtime.to_public(event)


@router.post(
    "/bulk", response_model=BulkResult, responses=answers(BULK),
    description=BULK_DESCRIPTION + " Matched by `id`, else by `external_ref`; items with "
    "neither are created.",
)  # fmt: skip
def bulk_upsert(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[
        BulkItems, body("Events", {"items": [DOWNTIME_IN | {"external_ref": "PLC-88121"}]})
    ],
) -> BulkResult:
    return downtime.upsert_downtime(
        session=session, tenant_id=caller.tenant_id, items=data.items,
        origin=ChangeOrigin.from_principal(caller), principal=caller, clock=clock,
    )  # fmt: skip


@router.get("/{event_id}", response_model=DowntimePublic, responses=answers(DOWNTIME))
def get_downtime(caller: AnyRole, session: ReadSession, event_id: uuid.UUID) -> DowntimePublic:
    return downtime.to_public(
        downtime.get_downtime(session=session, tenant_id=caller.tenant_id, event_id=event_id)
    )


@router.patch("/{event_id}", response_model=DowntimePublic, responses=answers(DOWNTIME))
def update_downtime(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    event_id: uuid.UUID,
    data: Annotated[
        DowntimeUpdate, body("End and classify", {"ended_at": T1, "reason_code": "JAM"})
    ],
) -> DowntimePublic:
    event = downtime.update_downtime(
        session=session, tenant_id=caller.tenant_id, event_id=event_id, data=data,
        origin=ChangeOrigin.from_principal(caller), principal=caller, clock=clock,
    )  # fmt: skip
    return downtime.to_public(event)


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_downtime(caller: Admin, session: WriteSession, event_id: uuid.UUID) -> Response:
    downtime.delete_downtime(session=session, tenant_id=caller.tenant_id, event_id=event_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
