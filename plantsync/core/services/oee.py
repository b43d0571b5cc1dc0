"""OEE by the standard definitions, as pure functions (no I/O): interval arithmetic and factors.

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

Refused inputs (a :class:`~plantsync.errors.ValidationError` naming the field): negative
times or counts, run time above planned time, good above total, an ideal cycle time <= 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from plantsync.errors import ValidationError

Interval = tuple[datetime, datetime]


# --- interval arithmetic over half-open [start, end) intervals ---------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time as ``intervals``."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time covered by both ``a`` and ``b``."""
    left, right = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if end > start:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time covered by ``a`` but not by ``b``."""
    cuts = merge(b)
    out: list[Interval] = []
    for start, end in merge(a):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def seconds(intervals: Iterable[Interval]) -> float:
    """Total length of ``intervals`` in seconds (overlaps counted once)."""
    return sum((end - start).total_seconds() for start, end in merge(intervals))


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


__all__ = [
    "Interval",
    "OEEFactors",
    "OEEFlag",
    "OEEFlagCode",
    "OEEInputs",
    "compute_oee",
    "intersect",
    "merge",
    "seconds",
    "subtract",
    "validate_inputs",
]
