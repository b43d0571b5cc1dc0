"""``/api/v1/workforce``: crew check-ins on machines and their labor cost.

Viewers read; operators (badge readers, terminals) check workers in and out.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from plantsync.api import docs
from plantsync.api.deps import AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes import production_examples as ex
from plantsync.core.models.workforce import CheckInCreate, CheckOut, CrewCheckInPublic, LaborCost
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import workforce

router = APIRouter(prefix="/api/v1/workforce", tags=["workforce"])


@router.post(
    "/checkin",
    response_model=CrewCheckInPublic,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.CHECKIN, 201, "Checked in (or the open check-in on this machine)")
    | docs.errors(404)
    | docs.error(
        409,
        "Worker B-10442 checked in elsewhere at 2026-01-05T05:30:00+00:00, after "
        "2026-01-05T05:00:00+00:00",
    ),
)
def checkin(
    body: Annotated[CheckInCreate, docs.body("A badge reader at the press", ex.CHECKIN_IN)],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
) -> CrewCheckInPublic:
    """Check a worker in on a machine at an hourly rate (minor units + ISO currency).

    The check-in records the machine's shift running at that time. A worker checked in on
    another machine is checked out there at this time; checking in again on the same machine
    answers the open check-in.
    """
    row = workforce.check_in(session=session, principal=caller, data=body, clock=clock)
    return CrewCheckInPublic.model_validate(row, from_attributes=True)


@router.post(
    "/checkout",
    response_model=CrewCheckInPublic,
    responses=docs.answers(ex.CHECKED_OUT) | docs.errors(404),
)
def checkout(
    body: Annotated[CheckOut, docs.body("The worker's open check-in ends", ex.CHECKOUT_IN)],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
) -> CrewCheckInPublic:
    """End a check-in, named by `checkin_id` or by the worker's open check-in."""
    row = workforce.check_out(session=session, principal=caller, data=body, clock=clock)
    return CrewCheckInPublic.model_validate(row, from_attributes=True)


@router.get(
    "/checkins",
    response_model=Page[CrewCheckInPublic],
    responses=docs.answers(docs.page(ex.CHECKIN)),
)
def list_checkins(
    caller: AnyRole,
    session: ReadSession,
    machine_id: uuid.UUID | None = None,
    worker_code: str | None = Query(None, max_length=64),
    open_only: bool = Query(False, alias="open", description="only workers still checked in"),
    start: AwareDatetime | None = Query(None, alias="from"),
    end: AwareDatetime | None = Query(None, alias="to"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[CrewCheckInPublic]:
    """Check-ins, newest first; `from`/`to` keep those overlapping the window."""
    page = workforce.list_checkins(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id,
        worker_code=worker_code, open_only=open_only, start=start, end=end, limit=limit,
        cursor=cursor,
    )  # fmt: skip
    return Page[CrewCheckInPublic](
        items=[CrewCheckInPublic.model_validate(r, from_attributes=True) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/labor-cost/{machine_id}", response_model=LaborCost, responses=docs.answers(ex.LABOR_COST)
)
def labor_cost(
    machine_id: uuid.UUID,
    caller: AnyRole,
    session: ReadSession,
    clock: ClockDep,
    start: AwareDatetime = Query(alias="from"),
    end: AwareDatetime = Query(alias="to"),
) -> LaborCost:
    """The crew's labor cost on the machine over the window: hours on the machine within it
    (open check-ins until now) x hourly rate, per worker and per currency, in minor units."""
    return workforce.labor_cost(
        session=session, principal=caller, machine_id=machine_id, start=start, end=end,
        clock=clock,
    )  # fmt: skip
