"""Shift occurrences from weekly shift patterns, computed in a site's IANA time zone (pure).

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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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


__all__ = [
    "ShiftOccurrence",
    "ShiftPattern",
    "current_and_next",
    "occurrence_on",
    "occurrences",
    "zone",
]
