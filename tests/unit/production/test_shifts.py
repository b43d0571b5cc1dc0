"""Shift occurrences in a site's time zone, across days, midnight and daylight-saving changes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from plantsync.core.services.shifts import (
    ShiftPattern,
    current_and_next,
    occurrences,
    zone,
)
from plantsync.errors import ValidationError

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})


def pattern(name: str, start: time, end: time, days: frozenset[int] = WEEKDAYS) -> ShiftPattern:
    return ShiftPattern(uuid.uuid4(), name, start, end, days)


def test_weekday_day_shift_in_winter_is_utc_plus_one() -> None:
    early = pattern("Early", time(6), time(14))
    # Monday 2026-01-05 .. Sunday 2026-01-11 (UTC window)
    occ = occurrences(
        [early], BERLIN, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC)
    )
    assert [o.shift_date for o in occ] == [date(2026, 1, d) for d in range(5, 10)]
    assert occ[0].start == datetime(2026, 1, 5, 5, tzinfo=UTC)
    assert occ[0].end == datetime(2026, 1, 5, 13, tzinfo=UTC)


def test_night_shift_crosses_midnight_and_dst_change() -> None:
    night = pattern("Night", time(22), time(6), frozenset(range(1, 8)))
    # Europe/Berlin springs forward on Sunday 2026-03-29 at 02:00.
    occ = occurrences(
        [night],
        BERLIN,
        datetime(2026, 3, 28, 12, tzinfo=UTC),
        datetime(2026, 3, 30, 12, tzinfo=UTC),
    )
    by_date = {o.shift_date: o for o in occ}
    assert by_date[date(2026, 3, 28)].end - by_date[date(2026, 3, 28)].start == timedelta(hours=7)
    assert by_date[date(2026, 3, 29)].end - by_date[date(2026, 3, 29)].start == timedelta(hours=8)
    # A shift that started the day before the window is included while it overlaps.
    assert date(2026, 3, 27) not in by_date  # ended 2026-03-28 05:00 UTC, before the window


def test_fall_back_night_is_nine_hours_in_new_york() -> None:
    ny = ZoneInfo("America/New_York")
    night = pattern("Night", time(22), time(6), frozenset(range(1, 8)))
    occ = occurrences(
        [night], ny, datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC)
    )
    assert occ[0].shift_date == date(2026, 10, 31)
    assert occ[0].end - occ[0].start == timedelta(hours=9)


def test_current_and_next() -> None:
    early = pattern("Early", time(6), time(14))
    late = pattern("Late", time(14), time(22))
    monday_noon_local = datetime(2026, 1, 5, 11, tzinfo=UTC)
    current, nxt = current_and_next([early, late], BERLIN, monday_noon_local)
    assert current is not None and current.name == "Early"
    assert nxt is not None and nxt.name == "Late"
    friday_late_evening = datetime(2026, 1, 9, 22, tzinfo=UTC)  # 23:00 local, Friday
    current, nxt = current_and_next([early, late], BERLIN, friday_late_evening)
    assert current is None
    assert nxt is not None and nxt.shift_date == date(2026, 1, 12)


def test_validity_dates_limit_a_pattern() -> None:
    p = ShiftPattern(
        uuid.uuid4(), "Early", time(6), time(14), WEEKDAYS, valid_from=date(2026, 1, 7)
    )
    occ = occurrences(
        [p], BERLIN, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC)
    )
    assert [o.shift_date.day for o in occ] == [7, 8, 9]


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        zone("Mars/Olympus")
    assert "time_zone" in info.value.errors
    assert zone("America/Chicago").key == "America/Chicago"
