"""The mapping engine: overrides, value maps and conversions in both directions (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantsync.entities import Direction, EntityType
from plantsync.mappings.convert import Context, converters
from plantsync.mappings.engine import RecordMappingError, apply_overrides, from_erp, to_erp
from plantsync.mappings.schema import MappingError, parse_mapping

DOC = {
    "provider": "sap",
    "entities": {
        "work_order": {
            "outbound": {
                "resource": "API_MAINTENANCEORDER/MaintenanceOrder",
                "key": ["MaintenanceOrder"],
                "fields": {
                    "work_order_id": "MaintenanceOrder",
                    "machine_id": "Equipment",
                    "status": "OrderStatus",
                    "planned_start": "PlannedStart",
                    "planned_end": "PlannedEndDate",
                    "labor_cost_minor": "Cost",
                    "quantity_planned": "Qty",
                },
                "values": {"status": {"released": "REL", "completed": "TECO"}},
                "convert": {
                    "planned_start": "datetime",
                    "planned_end": "date",
                    "labor_cost_minor": "money_minor",
                    "quantity_planned": "decimal",
                },
                "constants": {"MaintenanceOrderType": "YA01"},
            }
        },
        "machine": {
            "inbound": {
                "resource": "API_EQUIPMENT/Equipment",
                "key": ["Equipment", "ValidityEndDate"],
                "fields": {
                    "machine_id": "Equipment",
                    "name": "EquipmentName",
                    "ideal_cycle_time_s": "CycleMin",
                    "is_active": "Active",
                },
                "convert": {"ideal_cycle_time_s": "duration_min", "is_active": "bool"},
                "defaults": {"status": "idle"},
            }
        },
    },
}
BERLIN = ZoneInfo("Europe/Berlin")


def wo():
    return parse_mapping(DOC, source="test.yaml").entities[EntityType.work_order][
        Direction.outbound
    ]


def test_to_erp_maps_values_converts_and_adds_constants() -> None:
    record = {
        "work_order_id": "4000123",
        "machine_id": "EQ-1",
        "status": "released",
        "planned_start": datetime(2026, 3, 1, 6, 30, tzinfo=UTC),
        "planned_end": datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
        "labor_cost_minor": 12345,
        "quantity_planned": "10.5",
    }
    out = to_erp(wo(), record, Context(tz=BERLIN, currency="EUR"))
    assert out == {
        "MaintenanceOrderType": "YA01",
        "MaintenanceOrder": "4000123",
        "Equipment": "EQ-1",
        "OrderStatus": "REL",
        "PlannedStart": datetime(2026, 3, 1, 6, 30, tzinfo=UTC),
        "PlannedEndDate": date(2026, 3, 2),  # 23:30 UTC is already the 2nd in Berlin
        "Cost": Decimal("123.45"),
        "Qty": Decimal("10.5"),
    }


def test_unknown_status_is_a_record_error_naming_the_field() -> None:
    with pytest.raises(RecordMappingError, match="status='teco'"):
        to_erp(wo(), {"status": "teco"}, Context())


def test_from_erp_reverses_values_reads_naive_times_in_site_zone_and_fills_defaults() -> None:
    m = parse_mapping(DOC, source="t").entities[EntityType.machine][Direction.inbound]
    out = from_erp(
        m,
        {
            "Equipment": "EQ-1",
            "EquipmentName": "Press",
            "CycleMin": "1.5",
            "Active": "X",
            "Other": 1,
        },
        Context(tz=BERLIN),
    )
    assert out == {
        "machine_id": "EQ-1",
        "name": "Press",
        "ideal_cycle_time_s": 90,
        "is_active": True,
        "status": "idle",
    }
    assert converters("datetime", "x")[1](datetime(2026, 7, 1, 8, 0), Context(tz=BERLIN)) == (
        datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    )


def test_overrides_bare_scoped_and_resource() -> None:
    mapping = parse_mapping(DOC, source="t")
    out = apply_overrides(
        mapping,
        {
            "machine_id": "EQUNR",
            "work_order_id": "AUFNR",
            "work_order.@resource": "ZPM_ORDERS_SRV/Orders",
            "machine.name": "EQKTX",
        },
    )
    w = out.entities[EntityType.work_order][Direction.outbound]
    m = out.entities[EntityType.machine][Direction.inbound]
    assert w.resource == "ZPM_ORDERS_SRV/Orders"
    assert w.fields["machine_id"] == "EQUNR" and w.fields["work_order_id"] == "AUFNR"
    assert w.key == ("AUFNR",)  # the entity's own key field moved with it
    assert m.fields["machine_id"] == "EQUNR" and m.fields["name"] == "EQKTX"
    assert m.key == ("Equipment", "ValidityEndDate")  # composite keys are left alone
    assert mapping.entities[EntityType.work_order][Direction.outbound].resource.startswith("API_")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("nonsense", "X", "not a canonical field of any entity"),
        ("robot.name", "X", "unknown entity 'robot'"),
        ("machine.quantity_good", "X", "not a canonical field of machine"),
        ("machine_id", "  ", "non-empty string"),
    ],
)
def test_bad_overrides_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        apply_overrides(parse_mapping(DOC, source="t"), {key: value})


def test_mapping_file_errors_name_file_entity_and_field() -> None:
    bad = {
        "provider": "sap",
        "entities": {
            "machine": {"inbound": {"resource": "A/B", "key": ["K"], "fields": {"colour": "FARBE"}}}
        },
    }
    with pytest.raises(MappingError, match=r"bad\.yaml, machine inbound: fields\.colour"):
        parse_mapping(bad, source="bad.yaml")
    bad2 = {
        "provider": "sap",
        "entities": {
            "machine": {"inbound": {"resource": "A/B", "key": ["K"], "convert": {"name": "rot13"}}}
        },
    }
    with pytest.raises(MappingError, match="unknown conversion"):
        parse_mapping(bad2, source="bad.yaml")


def test_time_and_duration_edge_cases() -> None:
    to_time = converters("time", "x")[1]
    assert to_time("PT8H30M", Context()) == time(8, 30)
    with pytest.raises(ValueError):
        to_time("PT25H", Context())
    money_in = converters("money_minor", "labor_cost_minor")[1]
    assert money_in("1200", Context(currency="JPY")) == 1200
    with pytest.raises(ValueError, match="more decimals"):
        money_in("1.234", Context(currency="EUR"))


@given(
    st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["EUR", "JPY", "KWD", None])
)
def test_money_round_trips(minor: int, currency: str | None) -> None:
    out, into = converters("money_minor", "labor_cost_minor")
    ctx = Context(currency=currency)
    assert into(out(minor, ctx), ctx) == minor


@given(st.integers(min_value=0, max_value=10**7), st.sampled_from(["duration_min", "duration_h"]))
def test_durations_round_trip(seconds: int, name: str) -> None:
    out, into = converters(name, "ideal_cycle_time_s")
    assert into(out(seconds, Context()), Context()) == seconds
