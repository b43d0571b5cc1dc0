"""OData V2 (SAP Gateway) values: JSON <-> typed Python values, and ``$filter`` literals.

Reading never crashes on what real systems send: ``/Date(ms)/`` and ``/Date(ms+offset)/``,
ISO strings, ``Edm.Time`` durations (``PT8H30M``), ``Edm.Decimal`` strings, null, and SAP's
"initial" dates (``0000-00-00``, ``00000000``, ``/Date(-62135596800000)/`` ...) which mean
"no date" and become None. A value that cannot be a valid value of its type (a year beyond
9999, ``PT25H``, ``abc`` for a decimal) raises ``SapValueError``: the caller turns it into
that record's problem, never the run's.

Writing checks what the metadata says (type, ``MaxLength``, precision and scale) before a
byte goes out, so a bad record is refused locally with the field named.

Unlike pyodata's value traits, null stays None (pyodata turns a null ``Edm.DateTime`` into
1753-01-01) and offsets are kept (aware datetimes throughout).
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")
_TIME_RE = re.compile(r"^-?P(?:(\d+)D)?T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_STAMP_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?$")
# SAP's "initial" (empty) dates and times, as different systems render them.
_INITIAL_DATES = {"", "0000-00-00", "00000000", "00000000000000", "0000-00-00T00:00:00"}
# Before 0001-01-01 (ABAP's initial timestamp rendered by some services) means "no date".
_MIN_MS = -62135596800000
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999
_INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}


class SapValueError(ValueError):
    """A value is not a valid value of its OData type (the message names the value)."""


def parse_json_value(edm_type: str, raw: Any) -> Any:
    """A value of an OData V2 JSON payload as a typed Python value (None for null/initial).

    Raises:
        SapValueError: the value is not a valid ``edm_type`` value.
    """
    if raw is None:
        return None
    parser = _PARSERS.get(edm_type)
    if parser is None:
        return raw
    try:
        return parser(raw)
    except SapValueError:
        raise
    except (ValueError, TypeError, OverflowError, InvalidOperation) as exc:
        raise SapValueError(f"{raw!r} is not a valid {edm_type}") from exc


def parse_datetime(raw: Any) -> datetime | None:
    """``/Date(ms)/``, ``/Date(ms+mmmm)/`` or ISO 8601 as an aware datetime (None: no date).

    ``/Date(ms)/`` counts UTC milliseconds; the ``+mmmm`` suffix (Edm.DateTimeOffset) is the
    offset in minutes of the local time, kept on the result. Naive ISO strings are UTC.
    """
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if not isinstance(raw, str):
        raise SapValueError(f"{raw!r} is not a date")
    text = raw.strip().replace("\\/", "/")
    if text in _INITIAL_DATES:
        return None
    m = _DATE_RE.match(text)
    if m:
        return _from_millis(int(m.group(1)), m.group(2), m.group(3))
    return _from_iso(text)


def _from_millis(ms: int, sign: str | None, offset: str | None) -> datetime | None:
    if ms <= _MIN_MS:
        return None
    if ms > _MAX_MS:
        raise SapValueError(f"/Date({ms})/ is after 9999-12-31")
    tz: timezone = UTC
    if sign and offset:
        minutes = int(offset)
        if minutes >= 24 * 60:
            raise SapValueError(f"offset {sign}{offset} minutes is out of range")
        tz = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


def _from_iso(text: str) -> datetime | None:
    if text.startswith("0000"):
        return None
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        raise SapValueError(f"{text!r} is not a date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_time(raw: Any) -> time | None:
    """``Edm.Time`` (an ISO 8601 duration such as ``PT8H30M`` or ``PT08H30M15S``) as a time."""
    if isinstance(raw, time):
        return raw
    if not isinstance(raw, str):
        raise SapValueError(f"{raw!r} is not a time of day")
    m = _TIME_RE.match(raw.strip())
    if not m or raw.strip().startswith("-") or raw.strip() in ("PT", "P"):
        raise SapValueError(f"{raw!r} is not a time of day (expected e.g. PT08H30M00S)")
    days, hours, minutes, seconds = m.groups()
    total = timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    if total >= timedelta(days=1):
        raise SapValueError(f"{raw!r} is not a time of day (24 hours or more)")
    return (datetime.min + total).time()


def parse_change_stamp(raw: Any) -> datetime | None:
    """A change time as SAP services give it: a datetime, ``/Date(...)/``, ISO, or the
    ``YYYYMMDDhhmmss`` string some services use (``LastChangeDateTime`` as Edm.String)."""
    if raw is None or isinstance(raw, datetime):
        return raw
    text = str(raw).strip()
    m = _STAMP_RE.match(text)
    if not m:
        return parse_datetime(text)
    if set(text) <= {"0"}:
        return None
    y, mo, d, h, mi, s = (int(p) if p else 0 for p in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        raise SapValueError(f"{text!r} is not a valid timestamp") from None


def _parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise SapValueError(f"{raw!r} is not a decimal")
    value = Decimal(str(raw).strip())
    if not value.is_finite():
        raise SapValueError(f"{raw!r} is not a finite decimal")
    return value


def _parse_int(edm_type: str) -> Any:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool):
            raise SapValueError(f"{raw!r} is not a whole number")
        value = int(str(raw).strip())
        low, high = _INT_RANGES[edm_type]
        if not low <= value <= high:
            raise SapValueError(f"{raw!r} is out of range for {edm_type}")
        return value

    return parse


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "x", "1"):
        return True
    if text in ("false", "", "0"):
        return False
    raise SapValueError(f"{raw!r} is not a boolean")


def _parse_double(raw: Any) -> float:
    if isinstance(raw, bool):
        raise SapValueError(f"{raw!r} is not a number")
    return float(raw)


_PARSERS: dict[str, Any] = {
    "Edm.DateTime": parse_datetime,
    "Edm.DateTimeOffset": parse_datetime,
    "Edm.Time": parse_time,
    "Edm.Decimal": _parse_decimal,
    "Edm.Double": _parse_double,
    "Edm.Single": _parse_double,
    "Edm.Boolean": _parse_bool,
    "Edm.Guid": lambda raw: str(uuid.UUID(str(raw))),
    "Edm.Binary": lambda raw: base64.b64decode(str(raw), validate=True),
    "Edm.String": lambda raw: raw if isinstance(raw, str) else str(raw),
    **{name: _parse_int(name) for name in _INT_RANGES},
}


# --- writing ---------------------------------------------------------------------------


def to_utc(value: datetime | date) -> datetime:
    """An aware UTC datetime (a date is its midnight UTC; naive datetimes are refused)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        raise SapValueError(f"{value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def _millis(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


def format_json_value(
    edm_type: str,
    value: Any,
    *,
    max_length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
) -> Any:
    """A typed value as OData V2 JSON for ``edm_type``, checked against the metadata facets.

    Raises:
        SapValueError: wrong type, too long, too many digits, out of range.
    """
    if value is None:
        return None
    if edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        return _format_date(edm_type, value)
    if edm_type == "Edm.Time":
        return format_time(value)
    if edm_type == "Edm.Decimal":
        return _format_decimal(value, precision, scale)
    if edm_type in _INT_RANGES:
        return _format_int(edm_type, value)
    if edm_type in ("Edm.Double", "Edm.Single"):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise SapValueError(f"{value!r} is not a number")
        return str(float(value)) if edm_type == "Edm.Double" else float(value)
    if edm_type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise SapValueError(f"{value!r} is not a boolean")
        return value
    if edm_type == "Edm.Guid":
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise SapValueError(f"{value!r} is not a GUID") from None
    return _format_string(value, max_length)


def _format_date(edm_type: str, value: Any) -> str:
    if not isinstance(value, datetime | date):
        raise SapValueError(f"{value!r} is not a date or timestamp")
    ms = _millis(to_utc(value))
    if not _MIN_MS < ms <= _MAX_MS:
        raise SapValueError(f"{value!r} is out of range for {edm_type}")
    return f"/Date({ms}+0000)/" if edm_type == "Edm.DateTimeOffset" else f"/Date({ms})/"


def format_time(value: Any) -> str:
    """A time of day as ``Edm.Time`` (``PT08H30M00S``)."""
    if isinstance(value, datetime):
        value = to_utc(value).time()
    if not isinstance(value, time):
        raise SapValueError(f"{value!r} is not a time of day")
    return f"PT{value.hour:02d}H{value.minute:02d}M{value.second:02d}S"


def _format_decimal(value: Any, precision: int | None, scale: int | None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise SapValueError(f"{value!r} is not a decimal number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise SapValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise SapValueError(f"{value!r} is not a finite number")
    if scale is not None:
        quantum = Decimal(1).scaleb(-scale)
        if number != number.quantize(quantum, rounding="ROUND_HALF_EVEN"):
            raise SapValueError(f"{value} has more than {scale} decimal places")
        number = number.quantize(quantum)
    if precision:
        integer_digits = precision - (scale or 0)
        if abs(number) >= Decimal(10) ** integer_digits:
            raise SapValueError(f"{value} has more than {integer_digits} integer digits")
    return format(number, "f")


def _format_int(edm_type: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise SapValueError(f"{value!r} is not a whole number")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise SapValueError(f"{value!r} is not a whole number")
    number = int(value)
    low, high = _INT_RANGES[edm_type]
    if not low <= number <= high:
        raise SapValueError(f"{value!r} is out of range for {edm_type}")
    return str(number) if edm_type == "Edm.Int64" else number


def _format_string(value: Any, max_length: int | None) -> str:
    if isinstance(value, bool | dict | list | bytes):
        raise SapValueError(f"{value!r} is not text")
    text = value if isinstance(value, str) else str(value)
    if max_length and len(text) > max_length:
        raise SapValueError(f"{len(text)} characters, at most {max_length} allowed")
    return text


def filter_literal(edm_type: str, value: Any) -> str:
    """A value as a ``$filter`` / key literal (``datetime'...'``, ``'text'`` ...)."""
    if edm_type == "Edm.DateTime":
        return f"datetime'{to_utc(value).strftime('%Y-%m-%dT%H:%M:%S')}'"
    if edm_type == "Edm.DateTimeOffset":
        return f"datetimeoffset'{to_utc(value).strftime('%Y-%m-%dT%H:%M:%S')}Z'"
    if edm_type == "Edm.Guid":
        return f"guid'{uuid.UUID(str(value))}'"
    if edm_type == "Edm.Time":
        return f"time'{format_time(value)}'"
    if edm_type == "Edm.Boolean":
        return "true" if value else "false"
    if edm_type in _INT_RANGES or edm_type in ("Edm.Decimal", "Edm.Double"):
        suffix = {"Edm.Decimal": "M", "Edm.Int64": "L", "Edm.Double": "d"}.get(edm_type, "")
        return f"{value}{suffix}"
    if isinstance(value, datetime):
        # a change stamp kept as text (YYYYMMDDhhmmss)
        value = to_utc(value).strftime("%Y%m%d%H%M%S")
    return "'" + str(value).replace("'", "''") + "'"
