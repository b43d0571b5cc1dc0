"""Status life cycles (``options.status_actions``): chains, and validation when loaded."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plantsync.connectors.lifecycle import StatusChangeError, StatusLifecycle
from plantsync.entities import Direction, EntityType
from plantsync.mappings.schema import MappingError, load_default_mapping, parse_mapping

LIFECYCLE: dict[str, Any] = {
    "field": "Status",
    "initial": "NEW",
    "actions": {
        "OPEN": {"call": "Open", "from": ["NEW"]},
        "DONE": {"call": "Finish", "from": ["OPEN"]},
        "SHUT": {"call": "Shut", "from": ["DONE"]},
        "VOID": {"call": "Void", "from": ["NEW", "OPEN"]},
    },
}
DOC: dict[str, Any] = {
    "provider": "acme",
    "entities": {
        "work_order": {
            "outbound": {
                "resource": "Orders",
                "key": ["OrderNo"],
                "fields": {"description": "Text", "status": "Status"},
                "values": {"status": {"released": "OPEN", "closed": "SHUT"}},
                "options": {"status_actions": LIFECYCLE},
            }
        }
    },
}


def _lifecycle() -> StatusLifecycle:
    return StatusLifecycle.model_validate(LIFECYCLE)


@pytest.mark.parametrize(
    ("current", "target", "calls"),
    [
        ("NEW", "SHUT", ["Open", "Finish", "Shut"]),
        ("OPEN", "DONE", ["Finish"]),
        ("DONE", "DONE", []),
        ("NEW", "VOID", ["Void"]),
    ],
)
def test_shortest_chain_skips_steps_done(current: str, target: str, calls: list[str]) -> None:
    assert [s.call for s in _lifecycle().steps(current, target)] == calls


@pytest.mark.parametrize(("current", "target"), [("SHUT", "OPEN"), ("DONE", "VOID")])
def test_backwards_or_unreachable_is_refused(current: str, target: str) -> None:
    with pytest.raises(StatusChangeError, match=f"from {current} to {target}.*NEW -> OPEN"):
        _lifecycle().steps(current, target)


def test_current_status_is_the_furthest_in_a_status_text() -> None:
    life = _lifecycle()
    assert life.current("OPEN  PRC DONE") == "DONE"
    assert life.current("PRC") == life.current(None) == "NEW"


def test_sap_default_mapping_declares_the_order_life_cycle() -> None:
    m = load_default_mapping("sap").get(EntityType.work_order, Direction.outbound)
    assert m is not None
    life = StatusLifecycle.from_options(m.options)
    assert life is not None
    calls = [s.call for s in life.steps("CRTD", "CLSD")]
    assert calls == [
        "ReleaseMaintenanceOrder",
        "SetMaintOrdToTechCompleted",
        "SetMaintOrderStatusToClosed",
    ]


def _with_lifecycle(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["entities"]["work_order"]["outbound"]["options"]["status_actions"].update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_with_lifecycle(actions={"OPEN": "Open"}), "status_actions.actions.OPEN"),
        (
            _with_lifecycle(actions={"OPEN": {"call": "Open", "from": ["NOPE"]}}),
            "unknown status.*NOPE",
        ),
        (
            _with_lifecycle(
                actions={
                    "OPEN": {"call": "Open", "from": ["SHUT"]},
                    "SHUT": {"call": "Shut", "from": ["OPEN"]},
                }
            ),
            "OPEN, SHUT cannot be reached from NEW",
        ),
        (_with_lifecycle(field="Nope"), "field Nope is not an ERP field"),
        (_with_lifecycle(initial=""), "status_actions.initial"),
    ],
)
def test_invalid_life_cycle_fails_when_the_mapping_loads(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(doc, source="acme.yaml")


def test_a_mapped_status_the_life_cycle_cannot_set_fails_when_loaded() -> None:
    doc = copy.deepcopy(DOC)
    doc["entities"]["work_order"]["outbound"]["values"]["status"]["completed"] = "TECO"
    with pytest.raises(MappingError, match=r"values\.status\.completed: TECO is not a status"):
        parse_mapping(doc, source="acme.yaml")
