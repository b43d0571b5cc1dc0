"""The Dataverse Web API v9.2 wire protocol: URLs, headers, ``Prefer``, errors and values.

One function classifies a response (``classify_dataverse_response``): Dataverse errors carry
``{"error": {"code": "0x...", "message": "..."}}``; service protection answers 429 with
``Retry-After`` (limits are counted per 5-minute window).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx

from plantsync.connectors.http import retry_after_seconds
from plantsync.errors import (
    ERPAuthenticationError,
    ERPNotFoundError,
    ERPPermissionError,
    ERPValidationError,
    ThrottledError,
    UnavailableError,
)

PROVIDER = "dynamics"
API_PATH = "api/data/v9.2/"
MAX_PAGE_SIZE = 5000  # Dataverse's ceiling for odata.maxpagesize
MAX_BATCH_REQUESTS = 1000  # requests per $batch
FORMATTED_VALUE = "OData.Community.Display.V1.FormattedValue"
ODATA_HEADERS: Mapping[str, str] = {
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "Accept": "application/json",
}
# ExpiredVersionStamp: the delta token is older than the organisation keeps changes for.
EXPIRED_DELTA_CODES = frozenset({"0x80044352", "-2147204270"})
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")
_ENTITY_ID = re.compile(r"\(([^()]*)\)\s*$")
_GUID_NAMESPACE = uuid.UUID("4f6a2b7e-8c1d-5e3f-9a0b-1c2d3e4f5a6b")


def api_root(base_url: str) -> str:
    """``{base_url}/api/data/v9.2/`` (the Web API service root)."""
    return base_url.rstrip("/") + "/" + API_PATH


def prefer(
    *,
    max_page_size: int | None = None,
    track_changes: bool = False,
    annotations: bool = False,
    return_representation: bool = False,
    continue_on_error: bool = False,
) -> str:
    """One ``Prefer`` header value with the given preferences (comma-separated)."""
    items: list[str] = []
    if track_changes:
        items.append("odata.track-changes")
    if max_page_size is not None:
        items.append(f"odata.maxpagesize={max(1, min(MAX_PAGE_SIZE, max_page_size))}")
    if annotations:
        items.append(f'odata.include-annotations="{FORMATTED_VALUE}"')
    if return_representation:
        items.append("return=representation")
    if continue_on_error:
        items.append("odata.continue-on-error")
    return ",".join(items)


@dataclass(frozen=True)
class DataverseError:
    """A Dataverse error body: ``error.code`` (``0x8004...``) and ``error.message``."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def parse_error(status: int, body: bytes | str) -> DataverseError:
    """The ``error.code``/``error.message`` of a Dataverse error body (any text tolerated)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
        err = data.get("error", {}) if isinstance(data, dict) else {}
        code = str(err.get("code") or "")
        raw = err.get("message") or ""
        # OData v2-style bodies (gateways in front of Dataverse) nest the text in "value".
        message = str(raw.get("value", "") if isinstance(raw, dict) else raw).strip()
    except ValueError:
        code, message = "", ""
    if not message:
        message = " ".join(text.split())[:300] or f"HTTP {status}"
    return DataverseError(status, code, message[:1000])


class DataverseRefusedError(ERPValidationError):
    """A 4xx (other than 401/403/404/429): the request's values or query were refused.

    ``error`` keeps Dataverse's code and message for code-specific handling (an expired
    delta token, a table without change tracking).
    """

    def __init__(self, error: DataverseError, detail: str, **context: Any) -> None:
        self.error = error
        super().__init__(detail, **context)


def classify_dataverse_response(response: httpx.Response) -> None:
    """Raise the typed error a Dataverse response stands for; return for a success.

    Raises:
        ThrottledError: 429 (service protection), with ``Retry-After`` seconds.
        UnavailableError: 5xx.
        ERPAuthenticationError / ERPPermissionError / ERPNotFoundError: 401 / 403 / 404.
        DataverseRefusedError: any other 4xx (the request's values or query were refused).
    """
    status = response.status_code
    if status < 400:
        return
    err = parse_error(status, response.content)
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request (tests)
        path = "?"
    ctx: dict[str, Any] = {"provider": PROVIDER, "status": status}
    if status == 429:
        raise ThrottledError(
            f"Dataverse service protection limit reached ({err})",
            retry_after=retry_after_seconds(response),
            **ctx,
        )
    if status >= 500:
        raise UnavailableError(f"Dataverse answered {status} for {path} ({err})", **ctx)
    if status == 401:
        raise ERPAuthenticationError(
            f"Dataverse refused the access token for {path} (401): is the app registered as "
            "an application user in this environment?",
            **ctx,
        )
    if status == 403:
        raise ERPPermissionError(
            f"the application user lacks a privilege for {path} (403: {err}): "
            "check its security roles",
            **ctx,
        )
    if status == 404:
        raise ERPNotFoundError(f"{path} was not found (404: {err})", **ctx)
    raise DataverseRefusedError(err, f"Dataverse refused the request ({status} {err})", **ctx)


def is_expired_delta(err: DataverseError) -> bool:
    """An expired or unusable delta token: the caller must start over with a full pull."""
    if err.status == 410 or err.code in EXPIRED_DELTA_CODES:
        return True
    text = err.message.lower()
    return "version stamp" in text or ("delta" in text and "token" in text)


def is_change_tracking_off(err: DataverseError) -> bool:
    """The table does not have change tracking enabled."""
    text = err.message.lower()
    return "change tracking" in text or "changetracking" in text


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
