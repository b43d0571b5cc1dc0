"""Oracle Fusion REST values: typed Python values to and from ADF REST JSON, and ``q`` filters.

- ``format_value``/``dump_json``: timestamps with their offset (milliseconds), dates as
  ``YYYY-MM-DD``, whole decimals as integers.
- ``parse_timestamp``: an ADF timestamp as an aware datetime.
- ``build_q``: the ``q`` parameter in the syntax of the ``REST-Framework-Version`` (version 1
  is query-by-example ``A=1;B>2``, version 2 and later take ``A = 1 and B > 2``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

PROVIDER = "oracle"
DEFAULT_API_VERSION = "11.13.18.05"
DEFAULT_FRAMEWORK_VERSION = 4


def format_value(value: Any) -> Any:
    """A typed Python value as Oracle REST JSON (timestamps with offset, dates, numbers)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no time zone")
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def parse_timestamp(value: Any) -> datetime | None:
    """An Oracle timestamp (``2026-01-05T10:00:00.000+00:00``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Condition:
    """One ``q`` condition: ``field op value`` (op is ``=``, ``>``, ``>=``, ``<``, ``<=``)."""

    field: str
    op: str
    value: Any


_PLAIN_QBE = re.compile(r"^[A-Za-z0-9_.:+\-]*$")


def build_q(conditions: Sequence[Condition], framework_version: int) -> str:
    """The ``q`` parameter for ``conditions`` in the syntax of ``framework_version``.

    Version 1 (query-by-example): ``A=1;B>'x y'`` (values quoted only when they must be).
    Version 2 and later (expressions): ``A = 1 and B > 'x'``; strings quoted, ``'`` doubled.
    """
    for c in conditions:
        if c.op not in ("=", ">", ">=", "<", "<="):
            raise ValueError(f"unsupported q operator {c.op!r}")
    if framework_version < 2:
        return ";".join(f"{c.field}{c.op}{_qbe_literal(c.value)}" for c in conditions)
    return " and ".join(f"{c.field} {c.op} {_expr_literal(c.value)}" for c in conditions)


def _qbe_literal(value: Any) -> str:
    text = str(format_value(value))
    if _PLAIN_QBE.match(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _expr_literal(value: Any) -> str:
    value = format_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _json_default(value: Any) -> Any:
    formatted = format_value(value)
    if formatted is value:
        raise TypeError(f"cannot send a {type(value).__name__} value to Oracle")
    return formatted


def dump_json(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")
