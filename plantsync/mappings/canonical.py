"""The canonical fields of each synced entity: the plant model as the sync engine sees it.

Mapping files and a connection's ``field_mappings`` map these names to ERP fields.
``<entity>_id`` is the ERP key of that entity (``machine_id`` on a work order is the ERP key
of its machine). A bare field name applies to every entity that has it; ``entity.field``
scopes it to one entity; ``entity.@resource`` overrides the ERP resource.
"""

from __future__ import annotations

from collections.abc import Mapping

from plantsync.entities import EntityType

CANONICAL_FIELDS: Mapping[EntityType, Mapping[str, str]] = {
    EntityType.machine: {
        "machine_id": "ERP key of the machine (equipment / asset number)",
        "code": "plant code of the machine (unique per tenant)",
        "name": "machine name",
        "type": "machine type or category",
        "manufacturer": "manufacturer",
        "model": "model number",
        "serial_number": "serial number",
        "cost_center": "cost center",
        "site_code": "site (plant) code",
        "ideal_cycle_time_s": "ideal cycle time in seconds per part",
        "status": "current status (running, idle, down, maintenance, offline)",
        "is_active": "false when the ERP deactivated or deleted the asset",
        "changed_at": "last change time in the ERP",
    },
    EntityType.work_order: {
        "work_order_id": "ERP key of the work order (order number)",
        "number": "plant work order number",
        "kind": "production or maintenance",
        "machine_id": "ERP key of the machine the order runs on",
        "product_code": "product / material number",
        "description": "short text",
        "quantity_planned": "planned quantity",
        "quantity_good": "good quantity reported",
        "quantity_scrap": "scrap quantity reported",
        "status": "draft, released, in_progress, completed, closed, cancelled",
        "priority": "1 (highest) to 4",
        "planned_start": "planned start (timestamp)",
        "planned_end": "planned end (timestamp)",
        "actual_start": "actual start (timestamp)",
        "actual_end": "actual end (timestamp)",
        "site_code": "site (plant) code",
        "cost_center": "cost center",
        "labor_cost_minor": "labor cost in minor currency units",
        "parts_cost_minor": "parts cost in minor currency units",
        "currency": "ISO 4217 currency of the costs",
        "changed_at": "last change time in the ERP",
    },
    EntityType.downtime: {
        "downtime_id": "ERP key of the downtime record (e.g. notification number)",
        "machine_id": "ERP key of the machine",
        "work_order_id": "ERP key of the related work order, if any",
        "started_at": "start (timestamp)",
        "ended_at": "end (timestamp)",
        "duration_minutes": "duration in minutes",
        "reason_code": "reason code",
        "planned": "planned stop (true) or breakdown (false)",
        "failure_mode": "failure mode code",
        "root_cause": "root cause code",
        "source": "andon, plc, manual or api",
        "description": "short text",
        "site_code": "site (plant) code",
    },
    EntityType.production_data: {
        "production_data_id": "ERP key of the production record (e.g. confirmation)",
        "machine_id": "ERP key of the machine",
        "work_order_id": "ERP key of the work order the run produced for",
        "operation": "operation / activity number of the order",
        "started_at": "run start (timestamp)",
        "stopped_at": "run stop (timestamp)",
        "good_count": "good quantity",
        "scrap_count": "scrap quantity",
        "run_time_minutes": "run time in minutes",
        "downtime_minutes": "downtime within the run in minutes",
        "final": "true when this confirmation completes the operation",
        "site_code": "site (plant) code",
    },
}


def entity_key_field(entity: EntityType) -> str:
    """The canonical field holding the entity's own ERP key (``machine`` -> ``machine_id``)."""
    return f"{entity.value}_id"
