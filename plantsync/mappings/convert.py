"""Value conversions between canonical values and ERP values, by name (``CONVERSIONS``).

Canonical units follow the field name: ``*_s`` seconds, ``*_minutes`` minutes, ``*_minor``
integer minor currency units; timestamps are aware datetimes in UTC. The ERP side gets typed
Python values (datetime, date, Decimal, ...) which each connector serialises in its protocol.
A value that cannot be converted raises ``ConversionError`` (a per-record problem).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from plantsync import money

_UTC_ZONE = ZoneInfo("UTC")


class ConversionError(ValueError):
    """A value could not be converted; the message names the value, never a secret."""


@dataclass(frozen=True)
class Context:
    """What conversions need to know: the site's time zone and the record's currency."""

    tz: ZoneInfo = _UTC_ZONE
    currency: str | None = None


Converter = Callable[[Any, Context], Any]


def _to_int(v: Any, _c: Context) -> int:
    if isinstance(v, bool):
        raise ConversionError(f"{v!r} is not a whole number")
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise ConversionError(f"{v!r} is not a whole number") from None
    if d != d.to_integral_value():
        raise ConversionError(f"{v!r} is not a whole number")
    return int(d)


def _to_decimal(v: Any, _c: Context) -> Decimal:
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise ConversionError(f"{v!r} is not a number") from None
    if not d.is_finite():
        raise ConversionError(f"{v!r} is not a finite number")
    return d


def _to_bool(v: Any, _c: Context) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("x", "true", "1", "yes", "y"):
        return True
    if text in ("", "false", "0", "no", "n", "none"):
        return False
    raise ConversionError(f"{v!r} is not a boolean")


def _to_str(v: Any, _c: Context) -> str:
    return str(v).strip()


def _datetime_in(v: Any, c: Context) -> datetime:
    """An ERP timestamp as aware UTC; naive values are read in the site's zone."""
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise ConversionError(f"{v!r} is not a timestamp") from None
    if isinstance(v, datetime):
        dt: datetime = v if v.tzinfo is not None else v.replace(tzinfo=c.tz)
        return dt.astimezone(UTC)
    if isinstance(v, date):
        return datetime.combine(v, time(), tzinfo=c.tz).astimezone(UTC)
    raise ConversionError(f"{v!r} is not a timestamp")


def _datetime_out(v: Any, c: Context) -> datetime:
    return _datetime_in(v, c)


def _date_out(v: Any, c: Context) -> date:
    return _datetime_in(v, c).astimezone(c.tz).date()


_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def _time_in(v: Any, _c: Context) -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, timedelta):
        secs = int(v.total_seconds())
        return time(secs // 3600 % 24, secs // 60 % 60, secs % 60)
    m = _ISO_DURATION.match(str(v).strip())
    if m:
        h, mi, s = (int(float(x)) if x else 0 for x in m.groups())
        if h < 24 and mi < 60 and s < 60:
            return time(h, mi, s)
    try:
        return time.fromisoformat(str(v).strip())
    except ValueError:
        raise ConversionError(f"{v!r} is not a time of day") from None


def _scale(factor: Decimal) -> tuple[Converter, Converter]:
    """(canonical -> ERP, ERP -> canonical) for a unit change by ``factor`` (ERP = canon / f)."""

    # ERP side: 12 decimals (enough for seconds in hours); canonical side: 6, so a round trip
    # through a coarser ERP unit gives back the canonical value.
    def out(v: Any, c: Context) -> Decimal:
        return (_to_decimal(v, c) / factor).quantize(Decimal("1e-12")).normalize()

    def into(v: Any, c: Context) -> Decimal | int:
        d = (_to_decimal(v, c) * factor).quantize(Decimal("1e-6"))
        return int(d) if d == d.to_integral_value() else d.normalize()

    return out, into


def _money_out(v: Any, c: Context) -> Decimal:
    return money.to_major(_to_int(v, c), c.currency)


def _money_in(v: Any, c: Context) -> int:
    try:
        return money.from_major(_to_decimal(v, c), c.currency)
    except ValueError:
        raise ConversionError(f"{v!r} has more decimals than the currency allows") from None


def _identity(v: Any, _c: Context) -> Any:
    return v


# name -> (canonical -> ERP, ERP -> canonical). Unit conversions of durations depend on the
# canonical field's unit, see ``duration_factor``.
_PAIRS: dict[str, tuple[Converter, Converter]] = {
    "str": (_to_str, _to_str),
    "int": (_to_int, _to_int),
    "decimal": (_to_decimal, _to_decimal),
    "bool": (_to_bool, _to_bool),
    "datetime": (_datetime_out, _datetime_in),
    "date": (_date_out, _datetime_in),
    "time": (_time_in, _time_in),
    "money_minor": (_money_out, _money_in),
}

_ERP_UNIT_SECONDS = {
    "duration_s": Decimal(1),
    "duration_min": Decimal(60),
    "duration_h": Decimal(3600),
}


def canonical_unit_seconds(field: str) -> Decimal:
    """Seconds per unit of a canonical duration field, from its name."""
    if field.endswith("_minutes"):
        return Decimal(60)
    if field.endswith("_hours"):
        return Decimal(3600)
    return Decimal(1)


def converters(name: str, field: str) -> tuple[Converter, Converter]:
    """(canonical -> ERP, ERP -> canonical) for conversion ``name`` of canonical ``field``."""
    if name in _ERP_UNIT_SECONDS:
        out, into = _scale(_ERP_UNIT_SECONDS[name] / canonical_unit_seconds(field))
        return out, into
    if name in _PAIRS:
        return _PAIRS[name]
    return _identity, _identity
