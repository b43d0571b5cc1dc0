"""field_mappings validation and the resources it selects (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plantsync.core.models.integration import Connection
from plantsync.core.services.sync_logs import next_sync_at
from plantsync.entities import Direction, EntityType
from plantsync.errors import ValidationError
from plantsync.mappings.overrides import effective_resources, valid_keys, validate_field_mappings
from plantsync.mappings.schema import load_default_mapping


def test_valid_forms_are_accepted_and_trimmed() -> None:
    got = validate_field_mappings(
        {
            "machine_id": " EQUNR ",
            "work_order.description": "KTEXT",
            "work_order.@resource": "Z/Orders",
        }
    )
    assert got == {
        "machine_id": "EQUNR",
        "work_order.description": "KTEXT",
        "work_order.@resource": "Z/Orders",
    }


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"nope": "X"}, "field_mappings.nope"),
        ({"vehicle.name": "X"}, "field_mappings.vehicle.name"),
        ({"machine.priority": "X"}, "field_mappings.machine.priority"),
        ({"machine_id": "  "}, "field_mappings.machine_id"),
        ({"machine_id": 3}, "field_mappings.machine_id"),
    ],
)
def test_bad_keys_and_values_name_the_key(mapping: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_field_mappings(mapping)
    assert field in info.value.errors


def test_unknown_key_message_lists_valid_keys() -> None:
    with pytest.raises(ValidationError) as info:
        validate_field_mappings({"nope": "X"})
    assert all(k in info.value.message for k in ("machine_id", "downtime.@resource"))
    assert "work_order.@resource" in valid_keys()


def test_resource_override_replaces_only_the_path() -> None:
    default = load_default_mapping("sap").resources()
    got = effective_resources(
        "sap", {"work_order.@resource": "ZPM_ORDERS_SRV/Orders", "machine_id": "X"}
    )
    for direction, resource in got[EntityType.work_order].items():
        assert resource.path == "ZPM_ORDERS_SRV/Orders"
        assert resource.key == default[EntityType.work_order][direction].key
    # ``machine_id`` names the ERP field holding the machine's key: the key follows it (as the
    # mapping engine's ``apply_overrides`` does), the resource path does not change.
    machine = got[EntityType.machine][Direction.inbound]
    assert machine.path == default[EntityType.machine][Direction.inbound].path
    assert machine.key == ("X",)


def test_next_sync_at() -> None:
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    conn = Connection(tenant_id=None, name="c", provider="sap", base_url="https://x",  # type: ignore[arg-type]
                      auth_config_encrypted="", sync_interval_minutes=30, created_at=now - timedelta(hours=1))  # fmt: skip
    assert next_sync_at(connection=conn, last_run_at=None, now=now) == now - timedelta(hours=1)
    last = now - timedelta(minutes=10)
    assert next_sync_at(connection=conn, last_run_at=last, now=now) == last + timedelta(minutes=30)
    conn.is_active = False
    assert next_sync_at(connection=conn, last_run_at=last, now=now) is None
