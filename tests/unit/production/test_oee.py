"""OEE factors: worked examples by hand, edges, refused inputs, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantsync.core.services.intervals import intersect, merge, seconds, subtract
from plantsync.core.services.oee import OEEFlagCode, OEEInputs, compute_oee
from plantsync.errors import ValidationError

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_worked_example_textbook_shift() -> None:
    # An 8-hour shift (480 min) with two 15-min breaks (planned stops) -> 450 min planned.
    # 47 min of breakdowns -> run time 403 min. Ideal cycle time 60 s, 372 parts, 19 scrap.
    planned = 450 * 60
    run = (450 - 47) * 60
    result = compute_oee(
        OEEInputs(
            planned_time_s=planned,
            run_time_s=run,
            ideal_cycle_time_s=60,
            total_count=372,
            good_count=353,
        )
    )
    assert result.availability == pytest.approx(403 / 450)  # 0.8956
    assert result.performance == pytest.approx(372 / 403)  # 0.9231
    assert result.quality == pytest.approx(353 / 372)  # 0.9489
    # The identity A x P x Q = ideal x good / planned holds.
    assert result.oee == pytest.approx(60 * 353 / (450 * 60))  # 0.7844
    assert result.flags == []


def test_no_planned_time_is_flagged_and_undefined() -> None:
    result = compute_oee(OEEInputs(0, 0, 30, 10, 9))
    assert result.availability is None
    assert result.performance is None
    assert result.oee is None
    assert result.quality == pytest.approx(0.9)
    assert result.flagged(OEEFlagCode.no_planned_time)
    assert result.flagged(OEEFlagCode.counts_without_run_time)


def test_down_the_whole_time_gives_zero_oee() -> None:
    result = compute_oee(OEEInputs(3600, 0, 30, 0, 0))
    assert result.availability == 0
    assert result.performance is None
    assert result.oee == 0
    assert result.flagged(OEEFlagCode.no_run_time)
    assert result.flagged(OEEFlagCode.no_counts)


def test_wrong_ideal_cycle_time_shows_performance_over_100() -> None:
    # 1 hour run, 150 parts, ideal cycle time wrongly set to 60 s (really ~24 s).
    result = compute_oee(OEEInputs(3600, 3600, 60, 150, 150))
    assert result.performance == pytest.approx(2.5)
    assert result.oee == pytest.approx(2.5)
    flag = next(f for f in result.flags if f.code == OEEFlagCode.performance_over_100)
    assert "ideal cycle time" in flag.message


def test_missing_ideal_cycle_time() -> None:
    result = compute_oee(OEEInputs(3600, 1800, None, 10, 10))
    assert result.availability == pytest.approx(0.5)
    assert result.performance is None
    assert result.oee is None
    assert result.flagged(OEEFlagCode.no_ideal_cycle_time)


def test_nothing_counted_means_zero_performance_and_oee() -> None:
    result = compute_oee(OEEInputs(3600, 3600, 30, 0, 0))
    assert result.performance == 0
    assert result.quality is None
    assert result.oee == 0


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        (OEEInputs(-1, 0, 30, 0, 0), "planned_time_s"),
        (OEEInputs(60, -1, 30, 0, 0), "run_time_s"),
        (OEEInputs(60, 61, 30, 0, 0), "run_time_s"),
        (OEEInputs(60, 60, 0, 0, 0), "ideal_cycle_time_s"),
        (OEEInputs(60, 60, -5, 0, 0), "ideal_cycle_time_s"),
        (OEEInputs(60, 60, float("nan"), 0, 0), "ideal_cycle_time_s"),
        (OEEInputs(60, 60, 30, -1, 0), "total_count"),
        (OEEInputs(60, 60, 30, 5, 6), "good_count"),
        (OEEInputs(float("inf"), 60, 30, 5, 5), "planned_time_s"),
    ],
)
def test_refused_inputs_name_the_field(inputs: OEEInputs, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        compute_oee(inputs)
    assert field in info.value.errors


@st.composite
def valid_inputs(draw: st.DrawFn) -> OEEInputs:
    planned = draw(st.floats(min_value=0, max_value=1e7, allow_nan=False))
    run = draw(st.floats(min_value=0, max_value=planned, allow_nan=False))
    ideal = draw(st.none() | st.floats(min_value=1e-3, max_value=1e4, allow_nan=False))
    total = draw(st.integers(min_value=0, max_value=10**7))
    good = draw(st.integers(min_value=0, max_value=total))
    return OEEInputs(planned, run, ideal, total, good)


@given(valid_inputs())
def test_each_factor_is_in_unit_range_or_flagged(inputs: OEEInputs) -> None:
    result = compute_oee(inputs)
    for value in (result.availability, result.quality):
        assert value is None or 0 <= value <= 1
    if result.performance is not None and result.performance > 1:
        assert result.flagged(OEEFlagCode.performance_over_100)
    if result.oee is not None and result.oee > 1:
        assert result.flagged(OEEFlagCode.performance_over_100)
    undefined = [result.availability, result.performance, result.quality, result.oee]
    if None in undefined:
        assert result.flags, "an undefined factor always comes with a flag"
    if not result.flags:
        assert result.oee == pytest.approx(
            result.availability * result.performance * result.quality  # type: ignore[operator]
        )


@given(
    st.floats(min_value=-1e6, max_value=1e7) | st.just(float("nan")),
    st.floats(min_value=-1e6, max_value=1e7) | st.just(float("nan")),
    st.integers(min_value=-10, max_value=100),
    st.integers(min_value=-10, max_value=100),
)
def test_any_input_is_either_computed_or_refused(
    planned: float, run: float, total: int, good: int
) -> None:
    try:
        result = compute_oee(OEEInputs(planned, run, 30.0, total, good))
    except ValidationError as exc:
        assert exc.errors
    else:
        assert result.availability is None or 0 <= result.availability <= 1


def test_interval_arithmetic() -> None:
    shift = [(at(0), at(480))]
    breaks = [(at(120), at(135)), (at(300), at(315))]
    planned = subtract(shift, breaks)
    assert seconds(planned) == 450 * 60
    outage = [(at(100), at(130)), (at(400), at(500))]  # overlaps a break and the shift end
    assert seconds(intersect(planned, outage)) == (20 + 80) * 60
    assert merge([(at(5), at(10)), (at(0), at(6)), (at(20), at(20))]) == [(at(0), at(10))]


minutes = st.integers(min_value=0, max_value=600)
intervals = st.lists(st.tuples(minutes, minutes).map(lambda t: (at(min(t)), at(max(t)))))


@given(intervals, intervals)
def test_interval_identities(
    a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
) -> None:
    both = seconds(intersect(a, b))
    only_a = seconds(subtract(a, b))
    assert both + only_a == pytest.approx(seconds(a))
    assert both <= min(seconds(a), seconds(b))
