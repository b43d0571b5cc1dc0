"""Plant rows <-> canonical records, per entity (the names of ``mappings/canonical.py``).

Outbound: ``OUTBOUND_MODELS`` names the table of each pushed entity; ``eligible(entity, row)``
says whether a row is ready to be sent (a production run only once it is closed);
``canonical_record(entity, row, refs)`` builds the record the mapping turns into ERP fields.
References to other records (a work order's machine) are sent as *their* ERP keys, looked up
in the connection's links (``Refs``); a reference without a link is left out rather than
guessed. The record never carries its own ERP key: the connector gets that as ``erp_key``.
Empty values are left out, so a create never sends nulls the ERP may refuse.

Inbound: ``machine_item`` / ``work_order_item`` turn a canonical record (from ``from_erp``)
into the item the plant's bulk upsert services take (``upsert_machines`` by code,
``upsert_work_orders`` by number). A value the plant model cannot hold is a
``RecordMappingError`` naming the field: that record fails, the run goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlmodel import SQLModel

from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import CODE_PATTERN, Machine
from plantsync.core.models.production import ProductionRun, RunStatus
from plantsync.entities import EntityType
from plantsync.mappings.engine import RecordMappingError

OUTBOUND_MODELS: Mapping[EntityType, type[SQLModel]] = {
    EntityType.work_order: WorkOrder,
    EntityType.downtime: DowntimeEvent,
    EntityType.production_data: ProductionRun,
}
INBOUND_ENTITIES = (EntityType.machine, EntityType.work_order)

_CODE_MAX = 64
_TWO_PLACES = Decimal("0.01")


@dataclass
class Refs:
    """What building outbound records needs besides the row itself.

    Attributes:
        machine_keys / work_order_keys: local id -> ERP key, from this connection's links.
        machines: local machine rows by id (for the site of downtime and production runs).
        site_codes: local site id -> site code.
        work_order_numbers: local work order id -> number (to name it in messages).
        pulled: local ids of machines and work orders whose link came from an inbound pull.
    """

    machine_keys: dict[uuid.UUID, str] = field(default_factory=dict)
    work_order_keys: dict[uuid.UUID, str] = field(default_factory=dict)
    machines: dict[uuid.UUID, Machine] = field(default_factory=dict)
    site_codes: dict[uuid.UUID, str] = field(default_factory=dict)
    work_order_numbers: dict[uuid.UUID, str] = field(default_factory=dict)
    pulled: set[uuid.UUID] = field(default_factory=set)

    def site_of_machine(self, machine_id: uuid.UUID | None) -> str | None:
        machine = self.machines.get(machine_id) if machine_id else None
        return self.site_codes.get(machine.site_id) if machine and machine.site_id else None


def eligible(entity: EntityType, row: Any) -> bool:
    """Whether ``row`` is ready to be pushed (production data: closed runs only)."""
    if entity is EntityType.production_data:
        return bool(row.status == RunStatus.closed and row.stopped_at is not None)
    return True


def canonical_record(entity: EntityType, row: Any, refs: Refs) -> dict[str, Any]:
    """The canonical record of one outbound row (empty values left out)."""
    builders: dict[EntityType, Callable[[Any, Refs], dict[str, Any]]] = {
        EntityType.work_order: _work_order,
        EntityType.downtime: _downtime,
        EntityType.production_data: _production,
    }
    try:
        build = builders[entity]
    except KeyError:
        raise ValueError(f"{entity.value} is not an outbound entity") from None
    return {k: v for k, v in build(row, refs).items() if v is not None}


def _minutes(seconds: float | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / 60).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def _span_s(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _work_order(wo: WorkOrder, refs: Refs) -> dict[str, Any]:
    return {
        "number": wo.number,
        "kind": wo.kind.value,
        "machine_id": refs.machine_keys.get(wo.machine_id) if wo.machine_id else None,
        "product_code": wo.product_code,
        "description": wo.description,
        "quantity_planned": wo.quantity_planned,
        "quantity_good": wo.quantity_good,
        "quantity_scrap": wo.quantity_scrap,
        "status": wo.status.value,
        "priority": wo.priority,
        "planned_start": wo.planned_start,
        "planned_end": wo.planned_end,
        "actual_start": wo.actual_start,
        "actual_end": wo.actual_end,
        "site_code": refs.site_codes.get(wo.site_id) if wo.site_id else None,
        "cost_center": wo.cost_center,
        "labor_cost_minor": wo.labor_cost_minor,
        "parts_cost_minor": wo.parts_cost_minor,
        "currency": wo.currency,
    }


def _downtime(event: DowntimeEvent, refs: Refs) -> dict[str, Any]:
    wo_key = refs.work_order_keys.get(event.work_order_id) if event.work_order_id else None
    return {
        "machine_id": refs.machine_keys.get(event.machine_id),
        "work_order_id": wo_key,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "duration_minutes": _minutes(_span_s(event.started_at, event.ended_at)),
        "reason_code": event.reason_code,
        "planned": event.planned,
        "failure_mode": event.failure_mode,
        "root_cause": event.root_cause,
        "source": event.source.value,
        "description": event.description,
        "site_code": refs.site_of_machine(event.machine_id),
    }


def _production(run: ProductionRun, refs: Refs) -> dict[str, Any]:
    wo_key = refs.work_order_keys.get(run.work_order_id) if run.work_order_id else None
    run_s = (
        run.run_time_s if run.run_time_s is not None else _span_s(run.started_at, run.stopped_at)
    )
    return {
        "machine_id": refs.machine_keys.get(run.machine_id),
        "work_order_id": wo_key,
        "operation": run.operation,
        "started_at": run.started_at,
        "stopped_at": run.stopped_at,
        "good_count": run.good_count,
        "scrap_count": run.scrap_count,
        "run_time_minutes": _minutes(run_s),
        "downtime_minutes": _minutes(run.downtime_s),
        "final": False,
        "site_code": refs.site_of_machine(run.machine_id),
    }


# --- inbound ---------------------------------------------------------------------------------


def _text(record: Mapping[str, Any], name: str, max_length: int | None = None) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if max_length is not None and len(text) > max_length:
        raise RecordMappingError(f"{name}: {text[:40]!r}... is longer than {max_length} characters")
    return text


def _code(value: str | None, name: str) -> str:
    import re

    if value is None:
        raise RecordMappingError(f"{name}: the ERP record has no value for it")
    if len(value) > _CODE_MAX or not re.match(CODE_PATTERN, value):
        raise RecordMappingError(
            f"{name}: {value!r} is not a usable plant code (letters, digits, . _ / -; "
            f"at most {_CODE_MAX} characters)"
        )
    return value


def _whole(record: Mapping[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RecordMappingError(f"{name}: {value!r} is not a number") from None
    if number < 0:
        raise RecordMappingError(f"{name}: {value!r} is negative")
    return int(number.to_integral_value(rounding=ROUND_HALF_UP))


def _moment(record: Mapping[str, Any], name: str) -> datetime | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise RecordMappingError(f"{name}: {value!r} is not a timestamp with a time zone")
    return value


def _put(item: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        item[key] = value


def machine_item(
    record: Mapping[str, Any], *, erp_key: str, known_sites: set[str]
) -> dict[str, Any]:
    """An ``upsert_machines`` item (``MachineCreate`` fields) for a canonical machine record.

    The code falls back to the ERP key, the name to the code. A site code is kept only when
    the tenant has that site (an unknown site must not fail the machine).
    """
    code = _code(_text(record, "code") or erp_key, "code")
    item: dict[str, Any] = {"code": code, "name": _text(record, "name", 200) or code}
    for name, limit in (
        ("type", 100),
        ("manufacturer", 200),
        ("model", 200),
        ("serial_number", 200),
        ("cost_center", 64),
    ):
        _put(item, name, _text(record, name, limit))
    cycle = record.get("ideal_cycle_time_s")
    if cycle is not None:
        try:
            item["ideal_cycle_time_s"] = float(cycle)
        except (TypeError, ValueError):
            raise RecordMappingError(f"ideal_cycle_time_s: {cycle!r} is not a number") from None
    site = _text(record, "site_code")
    if site and site in known_sites:
        item["site_code"] = site
    _put(item, "status", _text(record, "status"))
    active = record.get("is_active")
    item["is_active"] = True if active is None else bool(active)
    return item


def work_order_item(
    record: Mapping[str, Any],
    *,
    erp_key: str,
    machine_codes: Mapping[str, str],
    known_sites: set[str],
) -> dict[str, Any]:
    """An ``upsert_work_orders`` item (``WorkOrderCreate`` fields) for a canonical record.

    ``machine_codes`` maps ERP machine keys to local machine codes (the machine links).
    """
    number = _code(_text(record, "number") or erp_key, "number")
    item: dict[str, Any] = {"number": number}
    for name, limit in (("product_code", 100), ("description", 1000), ("cost_center", 64)):
        _put(item, name, _text(record, name, limit))
    for name in ("kind", "status"):
        _put(item, name, _text(record, name))
    for name in ("quantity_planned", "quantity_good", "quantity_scrap", "priority"):
        _put(item, name, _whole(record, name))
    for name in ("planned_start", "planned_end"):
        _put(item, name, _moment(record, name))
    machine_key = _text(record, "machine_id")
    if machine_key and machine_key in machine_codes:
        item["machine_code"] = machine_codes[machine_key]
    site = _text(record, "site_code")
    if site and site in known_sites:
        item["site_code"] = site
    return item


__all__ = [
    "INBOUND_ENTITIES",
    "OUTBOUND_MODELS",
    "Refs",
    "canonical_record",
    "eligible",
    "machine_item",
    "work_order_item",
]
