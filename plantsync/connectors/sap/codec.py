"""SAP rows <-> records for one entity set, driven by its metadata and the mapping's options,
and SAP's own words in an error answer (``error_text``).

Inbound: a JSON row becomes an ``ERPRecord`` of typed values. A value that cannot be read
(a year 10000 date, ``PT25H``) becomes None and is reported in the page's note -- a pull never
crashes on one bad value. Date/time pairs (``MfgOrderPlannedStartDate`` + ``...Time``) named in
``options.datetime_pairs`` are combined into one aware datetime on the date field.

Outbound: ERP fields become a JSON payload checked against the metadata (unknown, read-only,
wrongly typed or over-long fields are that record's ``ERPValidationError``, naming the field).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

import httpx

from plantsync.connectors.base import ERPRecord, Resource, key_string
from plantsync.connectors.sap.metadata import EntitySet, Property
from plantsync.connectors.sap.values import (
    SapValueError,
    format_json_value,
    parse_change_stamp,
    parse_json_value,
)
from plantsync.errors import ERPConfigurationError, ERPValidationError

# Fixed namespace: a reference that is not a UUID maps to the same GUID on every run.
_REFERENCE_NAMESPACE = uuid.UUID("6f1c7a52-3f0e-5b7e-9d7a-0c9b1f3e2a10")


def read_row(
    es: EntitySet, resource: Resource, row: Mapping[str, Any], notes: list[str]
) -> ERPRecord:
    """A JSON row as an ERPRecord; unreadable values are None and noted in ``notes``."""
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in row.items():
        if name.startswith("__") or isinstance(raw, dict):
            continue  # __metadata, deferred navigation properties
        prop = es.properties.get(name)
        try:
            fields[name] = parse_json_value(prop.edm_type, raw) if prop else raw
        except SapValueError as exc:
            fields[name] = None
            problems.append(f"{name}: {exc}")
    _combine_pairs(fields, resource.options.get("datetime_pairs") or {})
    key = key_string([_key_text(fields.get(k)) for k in resource.key])
    for problem in problems:
        notes.append(f"record {key}: {problem} (kept empty)")
    changed_at = None
    if resource.changed_field:
        try:
            changed_at = parse_change_stamp(fields.get(resource.changed_field))
        except SapValueError as exc:
            notes.append(f"record {key}: {resource.changed_field}: {exc}")
    flags = resource.options.get("inactive_flags") or ()
    deleted = any(fields.get(flag) is True for flag in flags)
    return ERPRecord(key=key, fields=fields, deleted=deleted, changed_at=changed_at)


def _key_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    return "" if value is None else str(value)


def _combine_pairs(fields: dict[str, Any], pairs: Mapping[str, str]) -> None:
    for date_field, time_field in pairs.items():
        day, clock = fields.get(date_field), fields.get(time_field)
        if isinstance(day, datetime) and isinstance(clock, time):
            fields[date_field] = datetime.combine(day.date(), clock, tzinfo=UTC)


def split_pairs(fields: Mapping[str, Any], pairs: Mapping[str, str]) -> dict[str, Any]:
    """Outbound: a datetime on a date field of a pair also fills the pair's time field."""
    out = dict(fields)
    for date_field, time_field in pairs.items():
        value = out.get(date_field)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                continue  # refused with the field named by payload()
            utc = value.astimezone(UTC)
            out[date_field] = utc.date()
            out.setdefault(time_field, utc.time().replace(microsecond=0))
    return out


def payload(
    es: EntitySet,
    fields: Mapping[str, Any],
    *,
    create: bool,
    record_key: str,
    entity: str,
) -> dict[str, Any]:
    """The JSON body for a create (``create=True``) or an update of ``fields``.

    On update, fields SAP does not let change (``sap:updatable="false"``, keys) are left out:
    they were set at creation. On create, a read-only field is the record's error.

    Raises:
        ERPValidationError: an unknown, read-only, mistyped or over-long field (named).
    """
    body: dict[str, Any] = {}
    for name, value in fields.items():
        prop = es.properties.get(name)
        if prop is None:
            raise _invalid(name, f"is not a property of {es.name}", record_key, entity)
        if not create and (name in es.key or not prop.updatable):
            continue
        if create and name in es.key and value is None:
            continue  # SAP assigns the number
        if create and not prop.creatable:
            raise _invalid(name, f"cannot be set when creating {es.name}", record_key, entity)
        body[name] = serialise(prop, value, record_key=record_key, entity=entity)
    if create:
        missing = [
            p.name
            for p in es.properties.values()
            if not p.nullable and p.creatable and p.name not in es.key and body.get(p.name) is None
        ]
        if missing:
            raise _invalid(missing[0], f"is mandatory for {es.name}", record_key, entity)
    return body


def serialise(prop: Property, value: Any, *, record_key: str, entity: str) -> Any:
    """One value as JSON for ``prop``; a bad value is the record's ERPValidationError."""
    if isinstance(value, date) and not isinstance(value, datetime) and prop.edm_type == "Edm.Time":
        raise _invalid(prop.name, "needs a time of day, got a date", record_key, entity)
    try:
        return format_json_value(
            prop.edm_type,
            value,
            max_length=prop.max_length,
            precision=prop.precision,
            scale=prop.scale,
        )
    except SapValueError as exc:
        raise _invalid(prop.name, str(exc), record_key, entity) from None


def _invalid(field: str, problem: str, record_key: str, entity: str) -> ERPValidationError:
    return ERPValidationError(
        f"{field} {problem}" if problem.startswith(("is ", "cannot")) else f"{field}: {problem}",
        provider="sap",
        entity=entity,
        record_key=record_key,
    )


def reference_value(prop: Property, reference: str) -> str:
    """Our reference as the ERP field can hold it, the same on every run.

    A GUID field gets the reference itself when it is a UUID, else a UUID5 of it. A text
    field too short for the reference gets ``PS`` + a base32 digest of it, cut to fit.
    """
    if prop.edm_type == "Edm.Guid":
        try:
            return str(uuid.UUID(reference))
        except ValueError:
            return str(uuid.uuid5(_REFERENCE_NAMESPACE, reference))
    if prop.edm_type != "Edm.String":
        raise ERPConfigurationError(
            f"the reference field {prop.name} is {prop.edm_type}; it must be text or a GUID",
            provider="sap",
        )
    if prop.max_length is None or len(reference) <= prop.max_length:
        return reference
    if prop.max_length < 12:
        raise ERPConfigurationError(
            f"the reference field {prop.name} holds {prop.max_length} characters; "
            "at least 12 are needed",
            provider="sap",
        )
    digest = base64.b32encode(hashlib.sha256(reference.encode()).digest()).decode("ascii")
    return "PS" + digest[: prop.max_length - 2]


# --- error bodies ---------------------------------------------------------------------------


def sap_error_message(response: httpx.Response) -> str:
    """SAP's own words for a failed answer (see ``error_text``), or the HTTP status."""
    return error_text(response.content, response.headers) or f"HTTP {response.status_code}"


def error_text(body: bytes, headers: Mapping[str, str]) -> str:
    """SAP's message in an error body (``error.message.value``, inner details) and in the
    ``sap-message`` header; else the start of a non-HTML body."""
    texts: list[str] = []
    try:
        error = json.loads(body).get("error", {}) if body.strip() else {}
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, Mapping):
        message = error.get("message")
        value = message.get("value") if isinstance(message, Mapping) else message
        if value:
            texts.append(str(value))
        inner = error.get("innererror")
        details = inner.get("errordetails") if isinstance(inner, Mapping) else None
        for detail in details if isinstance(details, list) else []:
            text = detail.get("message") if isinstance(detail, Mapping) else None
            if text and str(text) not in texts:
                texts.append(str(text))
    texts += [t for t in _sap_message_header(headers) if t not in texts]
    if not texts:
        text = body.decode("utf-8", "replace").strip()
        if text and not text.startswith("<"):
            texts.append(text[:200])
    return "; ".join(texts)


def _sap_message_header(headers: Mapping[str, str]) -> list[str]:
    raw = headers.get("sap-message")
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [raw]
    out = [str(data.get("message"))] if data.get("message") else []
    for detail in data.get("details") or []:
        if isinstance(detail, Mapping) and detail.get("message"):
            out.append(str(detail["message"]))
    return out
