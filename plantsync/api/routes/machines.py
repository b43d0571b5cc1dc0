"""``/api/v1/machines``: assets, their current status, status history and bulk upsert."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from plantsync.api.deps import Admin, AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes.plant_examples import (
    BULK,
    BULK_DESCRIPTION,
    MACHINE,
    MACHINE_ID,
    MACHINE_IN,
    STATUS,
    T0,
    T1,
    answers,
    body,
    page,
)
from plantsync.core.models.plant import (
    MachineCreate,
    MachinePublic,
    MachineStatus,
    MachineStatusPublic,
    MachineStatusSet,
    MachineTimeline,
    MachineUpdate,
)
from plantsync.core.paging import Page
from plantsync.core.services import machine_status as statuses
from plantsync.core.services import machines
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.downtime import check_machine_scope
from plantsync.core.services.plant_common import MAX_BULK_ITEMS, BulkResult
from plantsync.errors import ValidationError

router = APIRouter(prefix="/api/v1/machines", tags=["machines"])


class BulkItems(BaseModel):
    items: list[dict[str, Any]] = Field(
        max_length=MAX_BULK_ITEMS, description="objects with the fields of a create request"
    )


class StatusList(BaseModel):
    items: list[MachineStatusPublic]
    next_cursor: None = None


@router.get("", response_model=Page[MachinePublic], responses=answers(page(MACHINE)))
def list_machines(
    caller: AnyRole,
    session: ReadSession,
    site_id: uuid.UUID | None = None,
    status: MachineStatus | None = None,
    type: str | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="search code and name")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[MachinePublic]:
    """Machines by code (then id), keyset-paged."""
    return machines.list_machines(
        session=session, tenant_id=caller.tenant_id, site_id=site_id, status=status, type=type,
        is_active=is_active, q=q, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=MachinePublic,
    responses=answers(MACHINE, 201),
)  # fmt: skip
def create_machine(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[MachineCreate, body("A press", MACHINE_IN)],
) -> MachinePublic:
    """Creates a machine; 409 if the code exists in the tenant."""
    machine = machines.create_machine(
        session=session, tenant_id=caller.tenant_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
    return machines.to_public(machine)


@router.post(
    "/bulk", response_model=BulkResult, responses=answers(BULK), description=BULK_DESCRIPTION
)
def bulk_upsert(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[BulkItems, body("Two machines", {"items": [MACHINE_IN, {"code": "PRESS-02"}]})],
) -> BulkResult:
    """Creates or updates machines matched by ``code``."""
    return machines.upsert_machines(
        session=session, tenant_id=caller.tenant_id, items=data.items,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip


@router.get("/status", response_model=StatusList, responses=answers(page(STATUS)))
def all_statuses(
    caller: AnyRole, session: ReadSession, clock: ClockDep, site_id: uuid.UUID | None = None
) -> StatusList:
    """Every active machine's current status in one call (plant displays, BI)."""
    items = statuses.all_machine_statuses(
        session=session, tenant_id=caller.tenant_id, site_id=site_id, clock=clock
    )
    return StatusList(items=items)


@router.get("/{machine_id}", response_model=MachinePublic, responses=answers(MACHINE))
def get_machine(caller: AnyRole, session: ReadSession, machine_id: uuid.UUID) -> MachinePublic:
    machine = machines.get_machine(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id
    )
    return machines.to_public(machine)


@router.patch("/{machine_id}", response_model=MachinePublic, responses=answers(MACHINE))
def update_machine(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    machine_id: uuid.UUID,
    data: Annotated[MachineUpdate, body("New ideal cycle time", {"ideal_cycle_time_s": 2.2})],
) -> MachinePublic:
    """Changes the given fields; the status changes through ``PUT .../status``."""
    machine = machines.update_machine(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, data=data,
        origin=ChangeOrigin.from_principal(caller), clock=clock,
    )  # fmt: skip
    return machines.to_public(machine)


@router.delete("/{machine_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_machine(caller: Admin, session: WriteSession, machine_id: uuid.UUID) -> Response:
    """Deletes a machine without history; 409 otherwise (set ``is_active=false``)."""
    machines.delete_machine(session=session, tenant_id=caller.tenant_id, machine_id=machine_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{machine_id}/status", response_model=MachineStatusPublic, responses=answers(STATUS))
def machine_status(
    caller: AnyRole, session: ReadSession, clock: ClockDep, machine_id: uuid.UUID
) -> MachineStatusPublic:
    """The machine's current status and since when."""
    return statuses.machine_status(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, clock=clock
    )


@router.put("/{machine_id}/status", response_model=MachineStatusPublic, responses=answers(STATUS))
def set_status(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    machine_id: uuid.UUID,
    data: Annotated[
        MachineStatusSet, body("PLC reports a stop", {"status": "down", "reason": "e-stop"})
    ],
) -> MachineStatusPublic:
    """Reports the machine's status (PLC gateways, operators); opens a new history interval."""
    check_machine_scope(caller, machine_id)
    statuses.set_machine_status(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, status=data.status,
        origin=ChangeOrigin.from_principal(caller), at=data.at, reason=data.reason, clock=clock,
    )  # fmt: skip
    return statuses.machine_status(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, clock=clock
    )


_TIMELINE = {
    "machine_id": MACHINE_ID, "start": T0, "end": T1,
    "intervals": [{"status": "running", "started_at": T0, "ended_at": T1, "duration_s": 2520.0,
                   "reason": None}],
}  # fmt: skip


@router.get("/{machine_id}/timeline", response_model=MachineTimeline, responses=answers(_TIMELINE))
def timeline(
    caller: AnyRole,
    session: ReadSession,
    clock: ClockDep,
    machine_id: uuid.UUID,
    from_: Annotated[datetime, Query(alias="from", description="window start (ISO 8601)")],
    to: Annotated[datetime, Query(description="window end (ISO 8601)")],
) -> MachineTimeline:
    """The status history overlapping ``[from, to)``, clipped to it (at most 366 days)."""
    for name, value in (("from", from_), ("to", to)):
        if value.tzinfo is None:
            raise ValidationError.single(name, "needs a time zone (e.g. 2026-03-02T06:00:00Z)")
    return statuses.machine_timeline(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, start=from_, end=to,
        clock=clock,
    )  # fmt: skip
