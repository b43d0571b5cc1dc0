"""Crew check-ins on machines and the labor cost they add up to.

- A check-in records the worker's hourly rate (integer minor units + ISO currency) and the
  shift it falls in (the machine's shift running at check-in time, if any).
- A worker is on one machine at a time: checking in on a machine closes the worker's open
  check-in elsewhere at the new check-in time (badge readers do not send check-outs when
  people move). Checking in again on the same machine returns the open check-in unchanged.
- Labor cost over a window = for each check-in, the hours it overlaps the window (an open
  check-in counts until now) x its rate, rounded half-up to whole minor units per check-in,
  summed per worker and per currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, or_, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.change import OriginKind
from plantsync.core.models.workforce import (
    CheckInCreate,
    CheckOut,
    CrewCheckIn,
    LaborCost,
    LaborCostLine,
    LaborCostTotal,
)
from plantsync.core.paging import Page
from plantsync.core.principal import Principal, PrincipalKind
from plantsync.core.services.plant_common import check_window, get_owned, keyset_page, where_equal
from plantsync.core.services.production import MAX_CLOCK_SKEW, get_machine
from plantsync.core.services.shifts import current_and_next, machine_calendar
from plantsync.errors import ConflictError, NotFoundError, ValidationError

MAX_LABOR_WINDOW = timedelta(days=366)

_ORIGIN = {
    PrincipalKind.user: OriginKind.user,
    PrincipalKind.service_account: OriginKind.device,
    PrincipalKind.api_key: OriginKind.device,
    PrincipalKind.system: OriginKind.system,
}


def _at(value: datetime | None, field: str, clock: Clock) -> datetime:
    when = value or clock.now()
    if when > clock.now() + MAX_CLOCK_SKEW:
        raise ValidationError.single(field, "is in the future")
    return when


def check_in(
    *, session: Session, principal: Principal, data: CheckInCreate, clock: Clock = SYSTEM_CLOCK
) -> CrewCheckIn:
    """Checks a worker in on a machine (see the module docstring) and commits.

    Raises:
        NotFoundError: the machine is not in the caller's tenant.
        ValidationError: ``at`` is in the future.
        ConflictError: the worker's open check-in started after ``at``.
    """
    machine = get_machine(session=session, principal=principal, machine_id=data.machine_id)
    when = _at(data.at, "at", clock)
    current = _open_checkin(session, principal.tenant_id, data.worker_code)
    if current is not None:
        if current.machine_id == machine.id:
            return current
        if current.checked_in_at > when:
            raise ConflictError(
                f"Worker {data.worker_code} checked in elsewhere at "
                f"{current.checked_in_at.isoformat()}, after {when.isoformat()}"
            )
        current.checked_out_at = when
        session.add(current)
    tz, patterns = machine_calendar(session=session, machine=machine)
    shift, _ = current_and_next(patterns, tz, when)
    row = CrewCheckIn(
        tenant_id=principal.tenant_id, machine_id=machine.id, worker_code=data.worker_code,
        worker_name=data.worker_name, hourly_rate_minor=data.hourly_rate_minor,
        currency=data.currency, checked_in_at=when,
        shift_schedule_id=shift.schedule_id if shift else None,
        shift_name=shift.name if shift else None, shift_date=shift.shift_date if shift else None,
        origin_kind=_ORIGIN[principal.kind], origin_id=principal.subject_id, created_at=clock.now(),
    )  # fmt: skip
    session.add(row)
    session.commit()
    return row


def _open_checkin(session: Session, tenant_id: uuid.UUID, worker_code: str) -> CrewCheckIn | None:
    return session.exec(
        select(CrewCheckIn).where(
            CrewCheckIn.tenant_id == tenant_id,
            CrewCheckIn.worker_code == worker_code,
            col(CrewCheckIn.checked_out_at).is_(None),
        )
    ).first()


def check_out(
    *, session: Session, principal: Principal, data: CheckOut, clock: Clock = SYSTEM_CLOCK
) -> CrewCheckIn:
    """Ends a check-in (by id, or the worker's open one) and commits. Checking out a check-in
    that has ended returns it unchanged.

    Raises:
        ValidationError: neither ``checkin_id`` nor ``worker_code``; ``at`` before the check-in.
        NotFoundError: no such check-in in the tenant, or the worker is not checked in.
    """
    if data.checkin_id is not None:
        row = get_owned(session, CrewCheckIn, principal.tenant_id, data.checkin_id, "Check-in")
    elif data.worker_code is not None:
        found = _open_checkin(session, principal.tenant_id, data.worker_code)
        if found is None:
            raise NotFoundError("Open check-in of worker", data.worker_code)
        row = found
    else:
        raise ValidationError.single("checkin_id", "give checkin_id or worker_code")
    get_machine(session=session, principal=principal, machine_id=row.machine_id)
    if row.checked_out_at is not None:
        return row
    when = _at(data.at, "at", clock)
    if when < row.checked_in_at:
        raise ValidationError.single("at", "is before the check-in")
    row.checked_out_at = when
    session.add(row)
    session.commit()
    return row


def list_checkins(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None = None,
    worker_code: str | None = None,
    open_only: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CrewCheckIn]:
    """Check-ins, newest first (ties by id); ``start``/``end`` keep those overlapping it."""
    query = select(CrewCheckIn).where(CrewCheckIn.tenant_id == tenant_id)
    query = where_equal(
        query, (CrewCheckIn.machine_id, machine_id), (CrewCheckIn.worker_code, worker_code)
    )
    if open_only:
        query = query.where(col(CrewCheckIn.checked_out_at).is_(None))
    if end is not None:
        query = query.where(col(CrewCheckIn.checked_in_at) < end)
    if start is not None:
        query = query.where(
            or_(col(CrewCheckIn.checked_out_at).is_(None), col(CrewCheckIn.checked_out_at) > start)
        )
    order = [col(CrewCheckIn.checked_in_at), col(CrewCheckIn.id)]
    rows, next_cursor = keyset_page(
        session, query, order=order, limit=limit, cursor=cursor, descending=True
    )
    return Page[CrewCheckIn](items=rows, next_cursor=next_cursor)


def labor_cost(
    *,
    session: Session,
    principal: Principal,
    machine_id: uuid.UUID,
    start: datetime,
    end: datetime,
    clock: Clock = SYSTEM_CLOCK,
) -> LaborCost:
    """The crew's labor cost on a machine over ``[start, end)`` (see the module docstring).

    Raises:
        ValidationError: ``to`` not after ``from``, or a window over 366 days.
        NotFoundError: the machine is not in the caller's tenant.
    """
    check_window(start, end, max_span=MAX_LABOR_WINDOW)
    machine = get_machine(session=session, principal=principal, machine_id=machine_id)
    now = clock.now()
    rows = session.exec(
        select(CrewCheckIn).where(
            CrewCheckIn.tenant_id == principal.tenant_id,
            CrewCheckIn.machine_id == machine.id,
            col(CrewCheckIn.checked_in_at) < end,
            or_(col(CrewCheckIn.checked_out_at).is_(None), col(CrewCheckIn.checked_out_at) > start),
        )
    ).all()
    lines: dict[tuple[str, str], _Sum] = {}
    totals: dict[str, _Sum] = {}
    for row in rows:
        until = min(row.checked_out_at or now, end)
        seconds = max(0.0, (until - max(row.checked_in_at, start)).total_seconds())
        amount = _amount(seconds, row.hourly_rate_minor)
        line = lines.setdefault((row.worker_code, row.currency), _Sum(name=row.worker_name))
        line.add(seconds, amount)
        totals.setdefault(row.currency, _Sum()).add(seconds, amount)
    return LaborCost(
        machine_id=machine.id,
        start=start,
        end=end,
        totals=[
            LaborCostTotal(currency=cur, hours=t.hours, amount_minor=t.amount_minor)
            for cur, t in sorted(totals.items())
        ],
        workers=[
            LaborCostLine(
                worker_code=code,
                worker_name=t.name,
                currency=cur,
                hours=t.hours,
                amount_minor=t.amount_minor,
            )
            for (code, cur), t in sorted(lines.items())
        ],
    )


@dataclass
class _Sum:
    name: str | None = None
    seconds: float = 0.0
    amount_minor: int = 0

    def add(self, seconds: float, amount_minor: int) -> None:
        self.seconds += seconds
        self.amount_minor += amount_minor

    @property
    def hours(self) -> float:
        return round(self.seconds / 3600, 4)


def _amount(seconds: float, hourly_rate_minor: int) -> int:
    value = Decimal(str(seconds)) * hourly_rate_minor / Decimal(3600)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


__all__ = ["check_in", "check_out", "labor_cost", "list_checkins"]
