"""``/api/v1/shifts``: shift schedules per site or machine and the shifts they make.

Viewers read; admins create and delete schedules. Local times are in the site's IANA zone.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from plantsync.api import docs
from plantsync.api.deps import Admin, AnyRole, ClockDep, ReadSession, WriteSession
from plantsync.api.routes import production_examples as ex
from plantsync.core.models.workforce import (
    CurrentShift,
    ShiftOccurrencePublic,
    ShiftScheduleCreate,
    ShiftSchedulePublic,
)
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import shifts

router = APIRouter(prefix="/api/v1/shifts", tags=["shifts"])


@router.get(
    "",
    response_model=Page[ShiftSchedulePublic],
    responses=docs.answers(docs.page(ex.SCHEDULE)) | docs.errors(404),
)
def list_schedules(
    caller: AnyRole,
    session: ReadSession,
    site_id: uuid.UUID | None = None,
    machine_id: uuid.UUID | None = Query(None, description="the schedules this machine works"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[ShiftSchedulePublic]:
    """Shift schedules, by name. A machine works its own schedules if it has any, else its
    site's."""
    return shifts.list_schedules(
        session=session, tenant_id=caller.tenant_id, site_id=site_id, machine_id=machine_id,
        limit=limit, cursor=cursor,
    )  # fmt: skip


@router.post(
    "",
    response_model=ShiftSchedulePublic,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.SCHEDULE, 201, "Created")
    | docs.error(404, f"Site {ex.SITE_ID} not found"),
)
def create_schedule(
    body: Annotated[
        ShiftScheduleCreate, docs.body("An early shift, Monday to Friday", ex.SCHEDULE_IN)
    ],
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
) -> ShiftSchedulePublic:
    """A weekly shift for a site (all its machines) or one machine. `end_time` <= `start_time`
    means the shift ends the next day (a night shift)."""
    return shifts.create_schedule(session=session, principal=caller, data=body, clock=clock)


@router.get(
    "/schedules/{schedule_id}",
    response_model=ShiftSchedulePublic,
    responses=docs.answers(ex.SCHEDULE),
)
def get_schedule(
    schedule_id: uuid.UUID, caller: AnyRole, session: ReadSession
) -> ShiftSchedulePublic:
    return shifts.get_schedule(session=session, tenant_id=caller.tenant_id, schedule_id=schedule_id)


@router.delete(
    "/schedules/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_schedule(
    schedule_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep
) -> None:
    shifts.delete_schedule(session=session, principal=caller, schedule_id=schedule_id, clock=clock)


@router.get(
    "/{machine_id}/current", response_model=CurrentShift, responses=docs.answers(ex.CURRENT_SHIFT)
)
def current_shift(
    machine_id: uuid.UUID, caller: AnyRole, session: ReadSession, clock: ClockDep
) -> CurrentShift:
    """The shift on now at the machine (`current` is null between shifts), the next shift,
    and the crew checked in on the machine."""
    return shifts.current_shift(
        session=session, principal=caller, machine_id=machine_id, clock=clock
    )


@router.get(
    "/{machine_id}/occurrences",
    response_model=list[ShiftOccurrencePublic],
    responses=docs.answers([ex.OCCURRENCE, ex.NEXT_OCCURRENCE]),
)
def occurrences(
    machine_id: uuid.UUID,
    caller: AnyRole,
    session: ReadSession,
    start: AwareDatetime = Query(alias="from"),
    end: AwareDatetime = Query(alias="to", description="at most 31 days after from"),
) -> list[ShiftOccurrencePublic]:
    """The machine's shifts overlapping the window, in UTC and local time."""
    return shifts.list_occurrences(
        session=session, principal=caller, machine_id=machine_id, start=start, end=end
    )
