"""Stable hashes of what a sync exchanged, so an unchanged record is never sent (or written)
twice.

``record_hash(fields)`` is the SHA-256 of a canonical JSON form of a mapping: keys sorted,
aware datetimes in UTC ISO form, ``Decimal`` normalised (``1.50`` == ``1.5``), enums by value,
UUIDs, dates and times as ISO text. Two mappings that an ERP would store identically hash
identically, whatever the dict order or the datetime's zone.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

_AS_IS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:  # the common case first (exact types: a str enum is an Enum)
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return _plain(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return {"$dec": format(value.normalize(), "f")}
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$dt": moment.isoformat()}
    if isinstance(value, date | time):
        return {"$d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): v if type(v) in _AS_IS else _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    return {"$repr": repr(value)}


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON text of ``fields`` (what ``record_hash`` digests)."""
    return json.dumps(_plain(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(fields: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``fields`` in canonical form."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


__all__ = ["canonical_json", "record_hash"]
