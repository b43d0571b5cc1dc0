"""Hashing, record building and the outbound selection rules (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.integration import ExternalLink, LinkState
from plantsync.core.models.maintenance import WorkOrder, WorkOrderStatus
from plantsync.core.models.plant import Machine
from plantsync.core.models.production import ProductionRun, RunStatus
from plantsync.core.sync import outbound
from plantsync.core.sync.hashing import record_hash
from plantsync.core.sync.inbound import dedupe
from plantsync.core.sync.records import (
    Refs,
    canonical_record,
    eligible,
    machine_item,
    work_order_item,
)
from plantsync.entities import Direction, EntityType
from plantsync.mappings.engine import RecordMappingError
from plantsync.mappings.schema import load_default_mapping

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TENANT = uuid.uuid4()


# --- hashing ---------------------------------------------------------------------------------


def test_hash_ignores_key_order_zone_and_decimal_form() -> None:
    a = {"x": Decimal("1.50"), "at": T0, "n": None}
    b = {"n": None, "at": T0.astimezone(timezone(timedelta(hours=2))), "x": Decimal("1.5")}
    assert record_hash(a) == record_hash(b)


def test_hash_sees_every_change() -> None:
    base = {"desc": "a", "qty": 1, "at": T0, "flag": False}
    variants = [
        {**base, "desc": "b"},
        {**base, "qty": 2},
        {**base, "at": T0 + timedelta(seconds=1)},
        {**base, "flag": True},
        {**base, "extra": None},
        {**base, "qty": "1"},
    ]
    hashes = {record_hash(v) for v in variants}
    assert len(hashes) == len(variants) and record_hash(base) not in hashes


# --- outbound records ------------------------------------------------------------------------


def _refs(machine: Machine, site_code: str = "1010") -> Refs:
    site_id = uuid.uuid4()
    machine.site_id = site_id
    return Refs(
        machine_keys={machine.id: "10000007"},
        machines={machine.id: machine},
        site_codes={site_id: site_code},
    )


def test_work_order_record_uses_erp_keys_and_drops_empty_values() -> None:
    machine = Machine(tenant_id=TENANT, code="M1", name="Press")
    refs = _refs(machine)
    wo = WorkOrder(tenant_id=TENANT, number="PS-1", machine_id=machine.id, description=None,
                   status=WorkOrderStatus.released, site_id=machine.site_id, planned_start=T0)  # fmt: skip
    record = canonical_record(EntityType.work_order, wo, refs)
    assert record["machine_id"] == "10000007"
    assert record["site_code"] == "1010" and record["status"] == "released"
    assert "description" not in record and "work_order_id" not in record


def test_unlinked_reference_is_left_out() -> None:
    machine = Machine(tenant_id=TENANT, code="M1", name="Press")
    event = DowntimeEvent(tenant_id=TENANT, machine_id=uuid.uuid4(), started_at=T0,
                          ended_at=T0 + timedelta(minutes=90))  # fmt: skip
    record = canonical_record(EntityType.downtime, event, _refs(machine))
    assert "machine_id" not in record
    assert record["duration_minutes"] == Decimal("90.00")


def test_production_data_only_for_closed_runs() -> None:
    machine = Machine(tenant_id=TENANT, code="M1", name="Press")
    running = ProductionRun(tenant_id=TENANT, machine_id=machine.id, started_at=T0)
    closed = ProductionRun(tenant_id=TENANT, machine_id=machine.id, started_at=T0,
                           stopped_at=T0 + timedelta(hours=1), status=RunStatus.closed,
                           good_count=10, scrap_count=1)  # fmt: skip
    assert not eligible(EntityType.production_data, running)
    assert eligible(EntityType.production_data, closed)
    record = canonical_record(EntityType.production_data, closed, _refs(machine))
    assert record["run_time_minutes"] == Decimal("60.00")
    assert (record["good_count"], record["scrap_count"], record["machine_id"]) == (
        10,
        1,
        "10000007",
    )


# --- inbound items ---------------------------------------------------------------------------


def test_machine_item_falls_back_and_keeps_known_sites_only() -> None:
    item = machine_item({"name": None, "site_code": "9999"}, erp_key="EQ-1", known_sites={"1010"})
    assert item == {"code": "EQ-1", "name": "EQ-1", "is_active": True}
    item = machine_item({"code": "M1", "site_code": "1010"}, erp_key="x", known_sites={"1010"})
    assert item["site_code"] == "1010"
    with pytest.raises(RecordMappingError, match="code"):
        machine_item({"code": "bad code!"}, erp_key="x", known_sites=set())


def test_work_order_item_resolves_machine_by_link_and_rounds_quantities() -> None:
    item = work_order_item(
        {"number": "1000001", "machine_id": "EQ-7", "quantity_planned": Decimal("12.000"),
         "planned_start": T0},
        erp_key="1000001", machine_codes={"EQ-7": "M7"}, known_sites=set(),
    )  # fmt: skip
    assert item == {
        "number": "1000001",
        "machine_code": "M7",
        "quantity_planned": 12,
        "planned_start": T0,
    }
    with pytest.raises(RecordMappingError, match="planned_end"):
        work_order_item({"planned_end": datetime(2026, 1, 1)}, erp_key="1", machine_codes={},
                        known_sites=set())  # fmt: skip


# --- selection rules -------------------------------------------------------------------------


def _ctx(provider: str, entity: EntityType, start: datetime = T0) -> Any:
    mapping = load_default_mapping(provider)
    return SimpleNamespace(
        entity=entity,
        direction=Direction.outbound,
        provider_mapping=mapping,
        mapping=mapping.get(entity, Direction.outbound),
        connection=SimpleNamespace(outbound_start_from=start),
    )


def _link(state: LinkState, sent_hash: str | None, direction: Direction = Direction.outbound,
          erp_key: str | None = "4000001") -> ExternalLink:  # fmt: skip
    return ExternalLink(tenant_id=TENANT, connection_id=uuid.uuid4(), entity_type=EntityType.work_order,
                        local_id=uuid.uuid4(), erp_key=erp_key, state=state, sent_hash=sent_hash,
                        last_direction=direction)  # fmt: skip


def _plan(provider: str, link: ExternalLink | None) -> outbound.OutboundItem:
    wo = WorkOrder(
        tenant_id=TENANT, number="PS-1", status=WorkOrderStatus.released, description="x"
    )
    return outbound.planning.plan_row(_ctx(provider, EntityType.work_order), wo, Refs(), link)


def test_plan_actions() -> None:
    fresh = _plan("sap", None)
    assert fresh.action == "create" and fresh.reference is not None and not fresh.maybe_sent
    same = _plan("sap", _link(LinkState.linked, fresh.hash))
    assert same.action == "unchanged"
    changed = _plan("sap", _link(LinkState.linked, "old"))
    assert changed.action == "update" and changed.erp_key == "4000001"
    lost = _plan("sap", _link(LinkState.sending, fresh.hash, erp_key=None))
    assert lost.action == "create" and lost.maybe_sent  # reconcile before creating again
    # SAP pulls production orders but pushes maintenance orders: not ours to push back.
    assert _plan("sap", _link(LinkState.linked, "h", Direction.inbound)).action == "erp_owned"
    # Dataverse pulls and pushes the same table: a local change of a pulled order is an update.
    assert _plan("dynamics", _link(LinkState.linked, "h", Direction.inbound)).action == "update"


def test_oracle_reference_is_the_mapped_order_number() -> None:
    assert _plan("oracle", None).reference == "PS-1"


def test_window_excludes_changes_before_start_from() -> None:
    ctx = _ctx("sap", EntityType.work_order, start=T0)
    assert not outbound.feed.in_window(ctx, SimpleNamespace(updated_at=T0 - timedelta(seconds=1)))
    assert outbound.feed.in_window(ctx, SimpleNamespace(updated_at=T0))


def test_dedupe_keeps_the_last_version_once() -> None:
    from plantsync.connectors.base import ERPRecord

    seen: dict[str, str] = {}
    page = [ERPRecord("A", {"n": 1}), ERPRecord("B", {"n": 1}), ERPRecord("A", {"n": 2})]
    assert [(r.key, r.fields["n"]) for r in dedupe(page, seen)] == [("B", 1), ("A", 2)]
    # The overlap brings A again unchanged, and B changed.
    again = [ERPRecord("A", {"n": 2}), ERPRecord("B", {"n": 3})]
    assert [(r.key, r.fields["n"]) for r in dedupe(again, seen)] == [("B", 3)]


def test_recent_hashes_stay_bounded_and_remember_the_last_generation() -> None:
    from plantsync.core.sync.inbound import RecentHashes

    recent = RecentHashes(size=3)
    for n in range(10):
        recent[f"k{n}"] = f"h{n}"
    # at most two generations of `size` keys are kept, the newest ones
    assert len(recent) <= 6
    assert recent.get("k9") == "h9" and recent.get("k7") == "h7"
    assert recent.get("k0") is None
    recent["k7"] = "new"
    assert recent["k7"] == "new"
    del recent["k7"]
    assert "k7" not in recent


def test_dedupe_with_bounded_memory_still_drops_a_repeat_from_the_previous_page() -> None:
    from plantsync.connectors.base import ERPRecord
    from plantsync.core.sync.inbound import RecentHashes

    seen = RecentHashes(size=2)
    first = [ERPRecord(key="A", fields={"n": 1}), ERPRecord(key="B", fields={"n": 1})]
    assert [r.key for r in dedupe(first, seen)] == ["A", "B"]
    again = [ERPRecord(key="B", fields={"n": 1}), ERPRecord(key="C", fields={"n": 1})]
    assert [r.key for r in dedupe(again, seen)] == ["C"]
