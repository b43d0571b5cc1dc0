"""Mapping files: ``required`` and ``pulled_references`` are validated when loaded."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plantsync.entities import Direction, EntityType
from plantsync.mappings.schema import MappingError, load_default_mapping, parse_mapping

DOC: dict[str, Any] = {
    "provider": "acme",
    "entities": {
        "downtime": {
            "outbound": {
                "resource": "Stops",
                "key": ["StopId"],
                "fields": {"machine_id": "AssetId", "reason_code": "Reason"},
                "required": ["machine_id"],
            }
        }
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["entities"]["downtime"]["outbound"].update(changes)
    return doc


def test_required_reference_is_loaded() -> None:
    m = parse_mapping(DOC, source="acme.yaml").get(EntityType.downtime, Direction.outbound)
    assert m is not None and m.required == ("machine_id",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"required": ["colour"]}, r"acme\.yaml, downtime outbound: required: colour is not a"),
        ({"required": ["work_order_id"]}, "required: work_order_id is not mapped in fields"),
        ({"pulled_references": ["reason_code"]}, "reason_code is not a reference"),
    ],
)
def test_bad_required_lists_name_file_entity_and_field(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(_with(**changes), source="acme.yaml")


def test_required_is_outbound_only() -> None:
    doc = {
        "provider": "acme",
        "entities": {
            "machine": {
                "inbound": {
                    "resource": "Assets",
                    "key": ["AssetId"],
                    "fields": {"machine_id": "AssetId"},
                    "required": ["machine_id"],
                }
            }
        },
    }
    with pytest.raises(MappingError, match="outbound mappings only"):
        parse_mapping(doc, source="acme.yaml")


def test_shipped_mappings_declare_what_the_erps_require() -> None:
    sap = load_default_mapping("sap")
    confirmation = sap.get(EntityType.production_data, Direction.outbound)
    assert confirmation is not None
    assert confirmation.required == ("work_order_id",)
    assert confirmation.pulled_references == ("work_order_id",)
    oracle_stop = load_default_mapping("oracle").get(EntityType.downtime, Direction.outbound)
    assert oracle_stop is not None and "machine_id" in oracle_stop.required
