"""The Oracle sandbox's resources: schema, generated rows, and validated writes.

Rows are kept as the ADF REST framework serialises them (timestamps as ISO strings with
milliseconds). Writes are checked against the resource's attributes and refused with
Oracle-style messages (``OracleError`` with a ``JBO-`` code): unknown or read-only attributes,
wrong types, over-long strings, missing required attributes, duplicate user keys.

The downtime and production-data resources (``plantDowntimeEvents``,
``plantProductionReports``) stand for a plant's own REST resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from plantsync.sandbox.derived import Lookup
from plantsync.sandbox.table import Rows


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource: its type and what a write may do with it."""

    type: str  # integer | number | string | datetime | date | boolean
    read_only: bool = False
    required: bool = False
    max_len: int | None = None


def _s(n: int, required: bool = False) -> Attr:
    return Attr("string", max_len=n, required=required)


_COMMON = {
    "CreationDate": Attr("datetime", read_only=True),
    "LastUpdateDate": Attr("datetime", read_only=True),
}


@dataclass
class ResourceDef:
    """A resource: its key attribute, attributes, unique user key and sandbox entity."""

    key: str
    attrs: dict[str, Attr]
    unique: str | None = None  # a user key that must be unique
    entity: str | None = None  # the sandbox entity it dumps as


RESOURCES: dict[str, ResourceDef] = {
    "installedBaseAssets": ResourceDef(
        "AssetId",
        {
            "AssetId": Attr("integer", read_only=True),
            "AssetNumber": _s(80, True),
            "Description": _s(240),
            "ItemNumber": _s(300),
            "SerialNumber": _s(80),
            "AssetTag": _s(240),
            "OrganizationCode": _s(18),
            "WorkCenterCode": _s(30),
            "MaintainableFlag": Attr("boolean"),
            "ActiveEndDate": Attr("datetime"),
            **_COMMON,
        },
        unique="AssetNumber",
        entity="machine",
    ),
    "workOrders": ResourceDef(
        "WorkOrderId",
        {
            "WorkOrderId": Attr("integer", read_only=True),
            "WorkOrderNumber": _s(120),
            "OrganizationCode": _s(18, True),
            "ItemNumber": _s(300, True),
            "WorkOrderDescription": _s(240),
            "PlannedStartQuantity": Attr("number", required=True),
            "CompletedQuantity": Attr("number"),
            "ScrappedQuantity": Attr("number"),
            "WorkOrderStatusCode": _s(30),
            "WorkOrderPriority": Attr("number"),
            "PlannedStartDate": Attr("datetime"),
            "PlannedCompletionDate": Attr("datetime"),
            "ActualStartDate": Attr("datetime"),
            "ActualCompletionDate": Attr("datetime"),
            **_COMMON,
        },
        unique="WorkOrderNumber",
    ),
    "maintenanceWorkOrders": ResourceDef(
        "WorkOrderId",
        {
            "WorkOrderId": Attr("integer", read_only=True),
            "WorkOrderNumber": _s(120),
            "WorkOrderDescription": _s(240),
            "OrganizationCode": _s(18, True),
            "AssetId": Attr("integer"),
            "AssetNumber": _s(80),
            "WorkOrderTypeCode": _s(30),
            "WorkOrderSubTypeCode": _s(30),
            "WorkOrderStatusCode": _s(30),
            "WorkOrderPriority": Attr("number"),
            "PlannedStartDate": Attr("datetime"),
            "PlannedCompletionDate": Attr("datetime"),
            "ActualStartDate": Attr("datetime"),
            "ActualCompletionDate": Attr("datetime"),
            **_COMMON,
        },
        unique="WorkOrderNumber",
        entity="work_order",
    ),
    "plantDowntimeEvents": ResourceDef(
        "DowntimeEventId",
        {
            "DowntimeEventId": Attr("integer", read_only=True),
            "ExternalReference": _s(64),
            "AssetId": Attr("integer", required=True),
            "WorkOrderId": Attr("integer"),
            "StartDate": Attr("datetime", required=True),
            "EndDate": Attr("datetime"),
            "DurationMinutes": Attr("number"),
            "ReasonCode": _s(30),
            "PlannedFlag": Attr("boolean"),
            "FailureCode": _s(30),
            "CauseCode": _s(30),
            "SourceCode": _s(30),
            "Description": _s(240),
            "OrganizationCode": _s(18),
            **_COMMON,
        },
        unique="ExternalReference",
        entity="downtime",
    ),
    "plantProductionReports": ResourceDef(
        "ProductionReportId",
        {
            "ProductionReportId": Attr("integer", read_only=True),
            "ExternalReference": _s(64),
            "AssetId": Attr("integer"),
            "WorkOrderId": Attr("integer"),
            "OperationSequence": Attr("integer"),
            "StartDate": Attr("datetime", required=True),
            "EndDate": Attr("datetime"),
            "GoodQuantity": Attr("number", required=True),
            "ScrapQuantity": Attr("number"),
            "RunMinutes": Attr("number"),
            "DowntimeMinutes": Attr("number"),
            "FinalFlag": Attr("boolean"),
            "OrganizationCode": _s(18),
            **_COMMON,
        },
        unique="ExternalReference",
        entity="production_data",
    ),
}
ENTITY_RESOURCES = {d.entity: name for name, d in RESOURCES.items() if d.entity}


class OracleError(Exception):
    """A refusal answered with ``status``; ``code`` is Oracle's ``JBO-`` error code, if any."""

    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


def ts(dt: datetime) -> str:
    """``dt`` as Oracle serialises timestamps (UTC, milliseconds)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> str:
    return ts(datetime.now(UTC))


@dataclass
class State:
    """Every resource's rows by key, the last id handed out, and the undo journal of the
    batch being applied (None outside a batch)."""

    rows: dict[str, Rows[int]] = field(default_factory=dict)
    next_id: int = 300100000000000
    journal: list[tuple[str, int, dict[str, Any] | None]] | None = None

    def new_id(self) -> int:
        """A fresh row id, as Oracle's surrogate keys are (also for tests that add rows)."""
        self.next_id += 1
        return self.next_id

    def remember(self, name: str, key: int) -> None:
        """Journal row ``key`` of ``name`` as it is now (absent: None), inside a batch."""
        if self.journal is not None:
            row = self.rows[name].get(key)
            self.journal.append((name, key, dict(row) if row is not None else None))

    def undo(self, journal: list[tuple[str, int, dict[str, Any] | None]]) -> None:
        """Take back every change journalled, newest first (the rows keep their identity)."""
        for name, key, old in reversed(journal):
            rows = self.rows[name]
            if old is None:
                rows.pop(key, None)
            elif key in rows:
                rows[key].clear()
                rows[key].update(old)
            else:
                rows[key] = old


def write(
    state: State, name: str, payload: Any, key: int | None, *, upsert: bool = False
) -> tuple[dict[str, Any], bool]:
    """Create (``key`` None) or update row ``key`` of resource ``name`` in ``state``.

    With ``upsert``, a create whose user key matches an existing row updates that row.

    Returns:
        The row as stored, and whether it was created.

    Raises:
        OracleError: the payload is not an object or fails validation.
    """
    rdef = RESOURCES[name]
    rows = state.rows[name]
    if not isinstance(payload, dict):
        raise OracleError(400, "The request payload must be a JSON object.")
    if upsert and key is None and rdef.unique and payload.get(rdef.unique) is not None:
        key = next(iter(_with_value(rows, rdef.unique, payload[rdef.unique])), None)
    values = _validate(name, rdef, payload, creating=key is None)
    _check_unique(name, rdef, rows, values, key)
    now = _now()
    if key is not None:
        state.remember(name, key)
        rows[key].update(values)
        rows[key]["LastUpdateDate"] = now
        return rows[key], False
    new_key = state.new_id()
    row = {a: None for a in rdef.attrs} | values
    row[rdef.key] = new_key
    row["CreationDate"] = row["LastUpdateDate"] = now
    state.remember(name, new_key)
    return rows.put(new_key, row), True


def _with_value(rows: Rows[int], attr: str, value: Any) -> list[int]:
    """Keys of the rows whose ``attr`` equals ``value``, in insertion order."""
    try:
        hash(value)
    except TypeError:
        return []  # a list or object never equals a stored value
    lookup = rows.derived(("lookup", attr), lambda: Lookup(rows, lambda r: r.get(attr)))
    return lookup.keys_of(value)  # type: ignore[attr-defined,no-any-return]


def _check_unique(
    name: str,
    rdef: ResourceDef,
    rows: Rows[int],
    values: dict[str, Any],
    key: int | None,
) -> None:
    if not rdef.unique or values.get(rdef.unique) is None:
        return
    if any(k != key for k in _with_value(rows, rdef.unique, values[rdef.unique])):
        raise OracleError(
            400,
            f"The value {values[rdef.unique]} of {rdef.unique} already exists in {name}.",
            "JBO-27108",
        )


# -- payload validation --------------------------------------------------------------------


def _validate(
    name: str, rdef: ResourceDef, payload: dict[str, Any], *, creating: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, value in payload.items():
        spec = rdef.attrs.get(attr)
        if spec is None:
            raise OracleError(
                400, f"The attribute {attr} is not found in resource {name}.", "JBO-27021"
            )
        if spec.read_only:
            raise OracleError(
                400,
                f"Attempt to set a value for the read-only attribute {attr} of {name}.",
                "JBO-27008",
            )
        out[attr] = _typed(attr, spec, value)
    if creating:
        missing = [a for a, s in rdef.attrs.items() if s.required and out.get(a) is None]
        if missing:
            raise OracleError(400, f"Attribute {missing[0]} in {name} is required.", "JBO-27014")
    return out


def _typed(attr: str, spec: Attr, value: Any) -> Any:
    if value is None:
        return None
    bad = OracleError(
        400, f"The value {value!r} of attribute {attr} is not a valid {spec.type}.", "JBO-27018"
    )
    if spec.type == "string":
        if not isinstance(value, str):
            raise bad
        if spec.max_len and len(value) > spec.max_len:
            raise OracleError(
                400,
                f"The value of attribute {attr} exceeds the maximum length {spec.max_len}.",
                "JBO-27010",
            )
        return value
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise bad
        return value
    if spec.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if spec.type == "integer" and value != int(value):
            raise bad
        return value
    if not isinstance(value, str):
        raise bad
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad from None
    if spec.type == "date":
        return parsed.date().isoformat()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return ts(parsed)


# -- q, orderBy ----------------------------------------------------------------------------
