"""Shift schedules and their occurrences, computed in a site's IANA time zone.

The first half is pure (patterns to occurrences); the second stores schedules and answers
"which shifts does this machine work" and "which shift is on now".

A pattern says "Early shift, 06:00-14:00 local, Monday to Friday". Its occurrences are real
UTC intervals: a shift's start and end are local wall-clock times on the shift's date (the
local date it starts on), converted to UTC with the zone's rules of that day, so a night shift
over a daylight-saving change lasts 7 or 9 real hours, as the people on it experience.

- ``end <= start`` means the shift ends on the next local day (22:00-06:00); ``end == start``
  is a 24-hour shift.
- A wall-clock time that does not exist on a spring-forward day (02:30 in Europe) is taken
  before the change (fold 0), i.e. it lands one hour later in real time; an ambiguous time on
  a fall-back day is taken at its first occurrence.
- ``weekdays`` are ISO numbers (1 = Monday ... 7 = Sunday) of the shift's start day.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.plant import Machine, Site
from plantsync.core.models.workforce import (
    CrewCheckIn,
    CrewCheckInPublic,
    CurrentShift,
    ShiftOccurrencePublic,
    ShiftSchedule,
    ShiftScheduleCreate,
    ShiftSchedulePublic,
)
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.audit import record_audit
from plantsync.core.services.plant_common import check_window, get_owned, keyset_page
from plantsync.errors import ValidationError


@dataclass(frozen=True)
class ShiftPattern:
    schedule_id: uuid.UUID
    name: str
    start: time
    end: time
    weekdays: frozenset[int]
    valid_from: date | None = None
    valid_to: date | None = None

    def active_on(self, day: date) -> bool:
        if day.isoweekday() not in self.weekdays:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass(frozen=True)
class ShiftOccurrence:
    """One shift as it happens: ``start``/``end`` in UTC, ``shift_date`` the local start day."""

    schedule_id: uuid.UUID
    name: str
    shift_date: date
    start: datetime
    end: datetime
    time_zone: str

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def zone(name: str, *, field: str = "time_zone") -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; a ``ValidationError`` on ``field`` if unknown."""
    if name not in _zone_names():
        raise ValidationError.single(
            field, f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError.single(field, f"{name!r} is not an IANA time zone") from exc


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def occurrence_on(pattern: ShiftPattern, day: date, tz: ZoneInfo) -> ShiftOccurrence:
    """The occurrence of ``pattern`` that starts on local date ``day`` (active or not)."""
    start_local = datetime.combine(day, pattern.start, tzinfo=tz)
    end_day = day + timedelta(days=1) if pattern.end <= pattern.start else day
    end_local = datetime.combine(end_day, pattern.end, tzinfo=tz)
    return ShiftOccurrence(
        schedule_id=pattern.schedule_id,
        name=pattern.name,
        shift_date=day,
        start=start_local.astimezone(UTC),
        end=end_local.astimezone(UTC),
        time_zone=str(tz.key),
    )


def occurrences(
    patterns: Iterable[ShiftPattern], tz: ZoneInfo, start: datetime, end: datetime
) -> list[ShiftOccurrence]:
    """Every occurrence overlapping ``[start, end)``, sorted by start then name."""
    found = [
        occ
        for day in _local_days(tz, start, end)
        for pattern in patterns
        if pattern.active_on(day)
        for occ in (occurrence_on(pattern, day, tz),)
        if occ.end > start and occ.start < end
    ]
    return sorted(found, key=lambda o: (o.start, o.name, o.schedule_id))


def _local_days(tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[date]:
    # A shift that started the day before ``start`` may still be running at ``start``.
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def current_and_next(
    patterns: Iterable[ShiftPattern], tz: ZoneInfo, moment: datetime, *, horizon_days: int = 8
) -> tuple[ShiftOccurrence | None, ShiftOccurrence | None]:
    """The shift running at ``moment`` (the latest started, if several) and the next to start."""
    patterns = list(patterns)
    window = occurrences(patterns, tz, moment, moment + timedelta(days=horizon_days))
    running = [o for o in window if o.contains(moment)]
    upcoming = [o for o in window if o.start > moment]
    return (running[-1] if running else None), (upcoming[0] if upcoming else None)


# --- stored schedules ---------------------------------------------------------------------------
#
# A machine works its own schedules when it has any, else its site's. A machine without a site
# and without schedules of its own has no shift schedule (OEE then counts the whole window).
# Schedules of a machine without a site are read in UTC.


def _to_pattern(row: ShiftSchedule) -> ShiftPattern:
    return ShiftPattern(
        schedule_id=row.id, name=row.name, start=row.start_time, end=row.end_time,
        weekdays=frozenset(row.weekday_list), valid_from=row.valid_from, valid_to=row.valid_to,
    )  # fmt: skip


def _site_zone(session: Session, site_id: uuid.UUID | None) -> ZoneInfo:
    site = session.get(Site, site_id) if site_id is not None else None
    return ZoneInfo(site.timezone) if site is not None else ZoneInfo("UTC")


def _public(row: ShiftSchedule, tz: ZoneInfo) -> ShiftSchedulePublic:
    return ShiftSchedulePublic(
        id=row.id, site_id=row.site_id, machine_id=row.machine_id, name=row.name,
        start_time=row.start_time, end_time=row.end_time, weekdays=row.weekday_list,
        valid_from=row.valid_from, valid_to=row.valid_to, time_zone=str(tz.key),
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def occurrence_public(occ: ShiftOccurrence) -> ShiftOccurrencePublic:
    tz = ZoneInfo(occ.time_zone)
    return ShiftOccurrencePublic(
        schedule_id=occ.schedule_id, name=occ.name, shift_date=occ.shift_date, start=occ.start,
        end=occ.end, local_start=occ.start.astimezone(tz), local_end=occ.end.astimezone(tz),
        time_zone=occ.time_zone,
    )  # fmt: skip


def create_schedule(
    *,
    session: Session,
    principal: Principal,
    data: ShiftScheduleCreate,
    clock: Clock = SYSTEM_CLOCK,
) -> ShiftSchedulePublic:
    """Stores a schedule for a site or one machine (of the caller's tenant) and commits.

    Raises:
        NotFoundError: the site or machine is not in the caller's tenant.
    """
    tenant_id = principal.tenant_id
    site_id = data.site_id
    if data.machine_id is not None:
        machine = get_owned(session, Machine, tenant_id, data.machine_id, "Machine")
        site_id = None
        zone_site = machine.site_id
    else:
        assert site_id is not None
        get_owned(session, Site, tenant_id, site_id, "Site")
        zone_site = site_id
    now = clock.now()
    row = ShiftSchedule(
        tenant_id=tenant_id, site_id=site_id, machine_id=data.machine_id, name=data.name,
        start_time=data.start_time, end_time=data.end_time,
        weekdays="".join(str(d) for d in data.weekdays), valid_from=data.valid_from,
        valid_to=data.valid_to, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(row)
    record_audit(
        session=session, principal=principal, action="shift_schedule.create",
        target_type="shift_schedule", target_id=row.id, details={"name": row.name}, clock=clock,
    )  # fmt: skip
    session.commit()
    return _public(row, _site_zone(session, zone_site))


def get_schedule(
    *, session: Session, tenant_id: uuid.UUID, schedule_id: uuid.UUID
) -> ShiftSchedulePublic:
    row = get_owned(session, ShiftSchedule, tenant_id, schedule_id, "Shift schedule")
    return _public(row, _schedule_zone(session, row))


def _schedule_zone(session: Session, row: ShiftSchedule) -> ZoneInfo:
    if row.site_id is not None:
        return _site_zone(session, row.site_id)
    machine = session.get(Machine, row.machine_id) if row.machine_id else None
    return _site_zone(session, machine.site_id if machine else None)


def delete_schedule(
    *, session: Session, principal: Principal, schedule_id: uuid.UUID, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Deletes a schedule (its past check-ins keep their shift name and date) and commits."""
    row = get_owned(session, ShiftSchedule, principal.tenant_id, schedule_id, "Shift schedule")
    session.execute(
        update(CrewCheckIn)
        .where(col(CrewCheckIn.shift_schedule_id) == row.id)
        .values(shift_schedule_id=None)
    )
    session.delete(row)
    record_audit(
        session=session, principal=principal, action="shift_schedule.delete",
        target_type="shift_schedule", target_id=row.id, details={"name": row.name}, clock=clock,
    )  # fmt: skip
    session.commit()


def list_schedules(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    site_id: uuid.UUID | None = None,
    machine_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ShiftSchedulePublic]:
    """Schedules by name then id; ``machine_id`` lists the schedules that machine works."""
    query = select(ShiftSchedule).where(ShiftSchedule.tenant_id == tenant_id)
    if site_id is not None:
        query = query.where(ShiftSchedule.site_id == site_id)
    if machine_id is not None:
        machine = get_owned(session, Machine, tenant_id, machine_id, "Machine")
        query = query.where(_works_for(session, machine))
    order = [col(ShiftSchedule.name), col(ShiftSchedule.id)]
    rows, next_cursor = keyset_page(session, query, order=order, limit=limit, cursor=cursor)
    items = [_public(r, _schedule_zone(session, r)) for r in rows]
    return Page[ShiftSchedulePublic](items=items, next_cursor=next_cursor)


def _works_for(session: Session, machine: Machine) -> Any:
    own = session.exec(
        select(ShiftSchedule.id).where(ShiftSchedule.machine_id == machine.id).limit(1)
    ).first()
    if own is not None or machine.site_id is None:
        return ShiftSchedule.machine_id == machine.id
    return and_(
        col(ShiftSchedule.site_id) == machine.site_id, col(ShiftSchedule.machine_id).is_(None)
    )


def machine_calendar(*, session: Session, machine: Machine) -> tuple[ZoneInfo, list[ShiftPattern]]:
    """The zone and the patterns ``machine`` works (empty: no shift schedule)."""
    rows = session.exec(
        select(ShiftSchedule).where(
            ShiftSchedule.tenant_id == machine.tenant_id, _works_for(session, machine)
        )
    ).all()
    return _site_zone(session, machine.site_id), [_to_pattern(r) for r in rows]


def machine_occurrences(
    *, session: Session, machine: Machine, start: datetime, end: datetime
) -> tuple[ZoneInfo, list[ShiftOccurrence], bool]:
    """The machine's shifts overlapping ``[start, end)``; the flag says it has a schedule."""
    tz, patterns = machine_calendar(session=session, machine=machine)
    return tz, occurrences(patterns, tz, start, end), bool(patterns)


def current_shift(
    *, session: Session, principal: Principal, machine_id: uuid.UUID, clock: Clock = SYSTEM_CLOCK
) -> CurrentShift:
    """The shift on now at the machine, the next one, and the crew checked in on it."""
    machine = get_owned(session, Machine, principal.tenant_id, machine_id, "Machine")
    tz, patterns = machine_calendar(session=session, machine=machine)
    now = clock.now()
    current, upcoming = current_and_next(patterns, tz, now)
    crew = session.exec(
        select(CrewCheckIn)
        .where(
            CrewCheckIn.tenant_id == principal.tenant_id,
            CrewCheckIn.machine_id == machine.id,
            col(CrewCheckIn.checked_out_at).is_(None),
        )
        .order_by(col(CrewCheckIn.checked_in_at), col(CrewCheckIn.id))
    ).all()
    return CurrentShift(
        machine_id=machine.id, time_zone=str(tz.key), at=now,
        current=occurrence_public(current) if current else None,
        next=occurrence_public(upcoming) if upcoming else None,
        crew=[CrewCheckInPublic.model_validate(c, from_attributes=True) for c in crew],
    )  # fmt: skip


def list_occurrences(
    *,
    session: Session,
    principal: Principal,
    machine_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> list[ShiftOccurrencePublic]:
    """The machine's shifts in ``[start, end)`` (at most 31 days)."""
    check_window(start, end, max_span=timedelta(days=31))
    machine = get_owned(session, Machine, principal.tenant_id, machine_id, "Machine")
    _, occ, _ = machine_occurrences(session=session, machine=machine, start=start, end=end)
    return [occurrence_public(o) for o in occ]


__all__ = [
    "ShiftOccurrence",
    "ShiftPattern",
    "create_schedule",
    "current_and_next",
    "current_shift",
    "delete_schedule",
    "get_schedule",
    "list_occurrences",
    "list_schedules",
    "machine_calendar",
    "machine_occurrences",
    "occurrence_on",
    "occurrence_public",
    "occurrences",
    "zone",
]
