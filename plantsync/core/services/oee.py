"""OEE by the standard definitions: pure interval arithmetic and factors, then
``oee_snapshot``, which gathers one machine's inputs for a window from the database.

Definitions (the inputs are measured over one machine and one window)::

    planned production time = (window ∩ scheduled shifts) - planned stops
    run time                = planned production time - unplanned downtime
    availability            = run time / planned production time
    performance             = ideal cycle time x total count / run time
    quality                 = good count / total count
    OEE                     = availability x performance x quality

Edges, each reported as an :class:`OEEFlag` instead of an error or a silent clamp:

- ``no_planned_time``: nothing was scheduled (or everything was a planned stop); availability,
  performance and OEE are ``None`` — a machine that was not meant to run has no OEE.
- ``no_run_time``: planned time but no run time (down the whole time); availability is 0,
  performance is ``None``, OEE is 0.
- ``counts_without_run_time``: parts were counted although there was no run time.
- ``no_ideal_cycle_time``: the machine has no ideal cycle time; performance and OEE are ``None``.
- ``no_counts``: nothing was counted; quality is ``None`` and performance is 0.
- ``performance_over_100``: performance above 1 — almost always an ideal cycle time set too
  long (or counts booked outside the run). The raw value is returned, not clamped, so the
  wrong master data shows instead of hiding behind 100 %; OEE may then exceed 1 as well.

- ``no_shift_schedule`` (snapshot only): the machine works no shift schedule (neither its own
  nor its site's), so the whole window counts as scheduled time, as for a 24/7 line.

A snapshot measures up to "now" (a window reaching into the future ends now). Counts belong to
the window by their ``recorded_at``, the end of the counter's period: ``from < recorded_at <=
to`` (a period ending exactly at ``to`` was counted inside the window). Downtime events still
open count until the window's end.

Refused inputs (a :class:`~plantsync.errors.ValidationError` naming the field): negative
times or counts, run time above planned time, good above total, an ideal cycle time <= 0.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.plant import Machine
from plantsync.core.models.production import (
    CycleSubmission,
    OEEFlagPublic,
    OEEInputsPublic,
    OEESnapshot,
    ProductionRun,
)
from plantsync.core.principal import Principal
from plantsync.core.services.intervals import Interval, intersect, seconds, subtract
from plantsync.core.services.plant_common import check_window, get_owned
from plantsync.core.services.shifts import machine_occurrences
from plantsync.errors import ValidationError

# --- the factors -------------------------------------------------------------------------------


class OEEFlagCode(StrEnum):
    no_planned_time = "no_planned_time"
    no_run_time = "no_run_time"
    counts_without_run_time = "counts_without_run_time"
    no_ideal_cycle_time = "no_ideal_cycle_time"
    no_counts = "no_counts"
    performance_over_100 = "performance_over_100"
    no_shift_schedule = "no_shift_schedule"


@dataclass(frozen=True)
class OEEFlag:
    code: OEEFlagCode
    message: str


@dataclass(frozen=True)
class OEEInputs:
    """What the factors are computed from: times in seconds, counts in parts."""

    planned_time_s: float
    run_time_s: float
    ideal_cycle_time_s: float | None
    total_count: int
    good_count: int


@dataclass(frozen=True)
class OEEFactors:
    """The factors as fractions (1.0 = 100 %); ``None`` where undefined (see ``flags``)."""

    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    flags: list[OEEFlag] = field(default_factory=list)

    def flagged(self, code: OEEFlagCode) -> bool:
        return any(f.code == code for f in self.flags)


def validate_inputs(inputs: OEEInputs) -> None:
    """Raises ``ValidationError`` naming every field that cannot be an OEE input."""
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in ("planned_time_s", "run_time_s"):
        value = getattr(inputs, name)
        if not math.isfinite(value) or value < 0:
            bad(name, "must be a finite number >= 0")
    if inputs.run_time_s > inputs.planned_time_s:
        bad("run_time_s", "cannot exceed the planned production time")
    ideal = inputs.ideal_cycle_time_s
    if ideal is not None and (not math.isfinite(ideal) or ideal <= 0):
        bad("ideal_cycle_time_s", "must be a finite number > 0")
    if inputs.total_count < 0:
        bad("total_count", "must be >= 0")
    if inputs.good_count < 0:
        bad("good_count", "must be >= 0")
    if inputs.good_count > inputs.total_count:
        bad("good_count", "cannot exceed the total count")
    if errors:
        raise ValidationError(errors)


def compute_oee(inputs: OEEInputs) -> OEEFactors:
    """The OEE factors for ``inputs`` (see the module docstring for the edges).

    Raises:
        ValidationError: an input is out of range.
    """
    validate_inputs(inputs)
    flags: list[OEEFlag] = []
    availability = _availability(inputs, flags)
    performance = _performance(inputs, flags)
    quality = _quality(inputs, flags)
    return OEEFactors(
        availability=availability,
        performance=performance,
        quality=quality,
        oee=None if availability is None else _combine((availability, performance, quality)),
        flags=flags,
    )


def _availability(inputs: OEEInputs, flags: list[OEEFlag]) -> float | None:
    if inputs.planned_time_s == 0:
        flags.append(
            OEEFlag(
                OEEFlagCode.no_planned_time,
                "No planned production time in the window (no shift scheduled, or only "
                "planned stops): availability, performance and OEE are undefined.",
            )
        )
        return None
    if inputs.run_time_s == 0:
        flags.append(
            OEEFlag(
                OEEFlagCode.no_run_time,
                "Unplanned downtime covered all planned production time: availability is 0 "
                "and performance is undefined.",
            )
        )
    return inputs.run_time_s / inputs.planned_time_s


def _performance(inputs: OEEInputs, flags: list[OEEFlag]) -> float | None:
    if inputs.run_time_s == 0:
        if inputs.total_count > 0:
            flags.append(
                OEEFlag(
                    OEEFlagCode.counts_without_run_time,
                    f"{inputs.total_count} parts were counted without any run time: check the "
                    "shift schedule and the downtime records.",
                )
            )
        return None
    if inputs.ideal_cycle_time_s is None:
        flags.append(
            OEEFlag(
                OEEFlagCode.no_ideal_cycle_time,
                "The machine has no ideal cycle time: performance and OEE are undefined.",
            )
        )
        return None
    performance = inputs.ideal_cycle_time_s * inputs.total_count / inputs.run_time_s
    if performance > 1:
        flags.append(
            OEEFlag(
                OEEFlagCode.performance_over_100,
                f"Performance is {performance:.1%}, above 100 %: the ideal cycle time "
                f"({inputs.ideal_cycle_time_s:g} s) is probably too long, or parts were counted "
                "outside the run time. The value is reported unclamped.",
            )
        )
    return performance


def _quality(inputs: OEEInputs, flags: list[OEEFlag]) -> float | None:
    if inputs.total_count == 0:
        flags.append(OEEFlag(OEEFlagCode.no_counts, "No parts were counted: quality is undefined."))
        return None
    return inputs.good_count / inputs.total_count


def _combine(factors: Sequence[float | None]) -> float | None:
    """The product; 0 when any known factor is 0 (no output is no output); else ``None``."""
    if all(f is not None for f in factors):
        result = 1.0
        for f in factors:
            result *= f or 0.0
        return result
    if any(f == 0 for f in factors if f is not None):
        return 0.0
    return None


# --- the snapshot: inputs from the database --------------------------------------------------

#: The longest window a snapshot computes (shift occurrences are expanded day by day).
MAX_WINDOW = timedelta(days=366)


def oee_snapshot(
    *,
    session: Session,
    principal: Principal,
    machine_id: uuid.UUID,
    start: datetime,
    end: datetime,
    clock: Clock = SYSTEM_CLOCK,
) -> OEESnapshot:
    """One machine's OEE over ``[start, end)`` with the inputs used and the edges met.

    Raises:
        ValidationError: ``to`` not after ``from``, or a window over 366 days.
        NotFoundError: the machine is not in the caller's tenant.
    """
    check_window(start, end, max_span=MAX_WINDOW)
    machine = get_owned(session, Machine, principal.tenant_id, machine_id, "Machine")
    end = max(start, min(end, clock.now()))
    window = [(start, end)] if end > start else []
    _, shifts, has_schedule = machine_occurrences(
        session=session, machine=machine, start=start, end=end
    )
    scheduled = intersect(window, [(o.start, o.end) for o in shifts]) if has_schedule else window
    planned_stops, breakdowns = _downtime(session, machine, start, end)
    planned = subtract(scheduled, planned_stops)
    unplanned = intersect(planned, breakdowns)
    planned_s, unplanned_s = seconds(planned), seconds(unplanned)
    good, scrap, ideal = _counts(session, machine, start, end)
    inputs = OEEInputs(
        planned_time_s=planned_s,
        run_time_s=planned_s - unplanned_s,
        ideal_cycle_time_s=ideal,
        total_count=good + scrap,
        good_count=good,
    )
    factors = compute_oee(inputs)
    flags = list(factors.flags)
    if not has_schedule:
        flags.insert(0, _NO_SCHEDULE)
    return OEESnapshot(
        machine_id=machine.id, start=start, end=end, availability=factors.availability,
        performance=factors.performance, quality=factors.quality, oee=factors.oee,
        inputs=OEEInputsPublic(
            scheduled_time_s=seconds(scheduled), planned_stop_s=seconds(scheduled) - planned_s,
            planned_time_s=planned_s, unplanned_downtime_s=unplanned_s,
            run_time_s=inputs.run_time_s, ideal_cycle_time_s=ideal, total_count=good + scrap,
            good_count=good, scrap_count=scrap, shift_schedule=has_schedule,
        ),
        flags=[OEEFlagPublic(code=f.code.value, message=f.message) for f in flags],
    )  # fmt: skip


_NO_SCHEDULE = OEEFlag(
    OEEFlagCode.no_shift_schedule,
    "The machine works no shift schedule (neither its own nor its site's): the whole window "
    "counts as scheduled time.",
)


def _downtime(
    session: Session, machine: Machine, start: datetime, end: datetime
) -> tuple[list[Interval], list[Interval]]:
    """The machine's planned stops and breakdowns overlapping the window (open ones to ``end``)."""
    events = session.exec(
        select(DowntimeEvent).where(
            DowntimeEvent.tenant_id == machine.tenant_id,
            DowntimeEvent.machine_id == machine.id,
            col(DowntimeEvent.started_at) < end,
            or_(col(DowntimeEvent.ended_at).is_(None), col(DowntimeEvent.ended_at) > start),
        )
    ).all()
    planned: list[Interval] = []
    breakdowns: list[Interval] = []
    for event in events:
        interval = (max(event.started_at, start), min(event.ended_at or end, end))
        (planned if event.planned else breakdowns).append(interval)
    return planned, breakdowns


def _counts(
    session: Session, machine: Machine, start: datetime, end: datetime
) -> tuple[int, int, float | None]:
    """Good and scrap counted in the window, and the count-weighted ideal cycle time (a run's
    own ideal cycle time wins over the machine's; ``None`` if some counted parts have none)."""
    rows = session.execute(
        select(
            func.coalesce(func.sum(CycleSubmission.good_count), 0),
            func.coalesce(func.sum(CycleSubmission.scrap_count), 0),
            ProductionRun.ideal_cycle_time_s,
        )
        .select_from(CycleSubmission)
        .outerjoin(ProductionRun, col(ProductionRun.id) == CycleSubmission.run_id)
        .where(
            CycleSubmission.tenant_id == machine.tenant_id,
            CycleSubmission.machine_id == machine.id,
            col(CycleSubmission.recorded_at) > start,
            col(CycleSubmission.recorded_at) <= end,
        )
        .group_by(col(ProductionRun.ideal_cycle_time_s))
    ).all()
    good = scrap = 0
    ideal_time = 0.0
    known = True
    for row_good, row_scrap, run_ideal in rows:
        good, scrap = good + int(row_good), scrap + int(row_scrap)
        ideal = run_ideal if run_ideal is not None else machine.ideal_cycle_time_s
        if ideal is None:
            known = False
        else:
            ideal_time += ideal * (int(row_good) + int(row_scrap))
    total = good + scrap
    if total == 0:
        return 0, 0, machine.ideal_cycle_time_s
    return good, scrap, (ideal_time / total if known else None)


__all__ = [
    "MAX_WINDOW",
    "OEEFactors",
    "OEEFlag",
    "OEEFlagCode",
    "OEEInputs",
    "compute_oee",
    "oee_snapshot",
    "validate_inputs",
]
