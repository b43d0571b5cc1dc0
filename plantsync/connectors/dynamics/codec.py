"""Dataverse values: typed Python values to and from Web API JSON, keys and ``$filter`` literals.

- ``parse_row``/``parse_value``: ISO timestamps become aware datetimes; OData control
  annotations are dropped, formatted values kept.
- ``json_value``/``filter_literal``/``key_segment``: what we send (timestamps in UTC with
  ``Z``, GUIDs bare, strings quoted with ``'`` doubled).
- ``deterministic_guid``: the row id we give a record we create (UUID5), so a create sent
  twice is an update.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

PROVIDER = "dynamics"
FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")
_ENTITY_ID = re.compile(r"\(([^()]*)\)\s*$")
_GUID_NAMESPACE = uuid.UUID("4f6a2b7e-8c1d-5e3f-9a0b-1c2d3e4f5a6b")


def deterministic_guid(tenant_id: uuid.UUID, entity: str, local_ref: str) -> uuid.UUID:
    """The Dataverse row id we give a record we create: UUID5 of (tenant, entity, local id).

    The same record always gets the same GUID, so a create whose answer was lost and is sent
    again (``PATCH entityset(guid)``) updates the row instead of duplicating it.
    """
    return uuid.uuid5(_GUID_NAMESPACE, f"{tenant_id}/{entity}/{local_ref}")


def entity_id(header: str | None) -> str | None:
    """The key inside an ``OData-EntityId`` header (``.../accounts(<guid>)`` -> ``<guid>``)."""
    if not header:
        return None
    match = _ENTITY_ID.search(header)
    return match.group(1) if match else None


def parse_value(value: Any) -> Any:
    """A JSON value as a typed value: ISO timestamps become aware datetimes (UTC)."""
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def parse_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Dataverse row's columns, typed; OData control annotations are dropped, formatted
    values (``<column>@OData.Community.Display.V1.FormattedValue``) are kept."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name.startswith("@") or ("@" in name and not name.endswith(FORMATTED_VALUE)):
            continue
        out[name] = parse_value(value)
    return out


def json_value(value: Any) -> Any:
    """A typed value as Dataverse JSON (timestamps in UTC with ``Z``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: PlantSync only sends aware timestamps")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return json_value(value.value)
    return value


def filter_literal(value: Any) -> str:
    """A value as an OData ``$filter`` literal (strings quoted, quotes doubled)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | uuid.UUID | Decimal | int | float):
        return str(json_value(value))
    text = str(value)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return "'" + text.replace("'", "''") + "'"


def key_segment(key: str | Mapping[str, Any]) -> str:
    """``(<guid>)`` for a primary key, ``(name='value',...)`` for an alternate key."""
    if isinstance(key, str):
        return f"({key})"
    return "(" + ",".join(f"{k}={filter_literal(v)}" for k, v in key.items()) + ")"
