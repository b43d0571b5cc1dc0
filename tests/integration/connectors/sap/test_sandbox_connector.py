"""The SAP connector against the in-process SAP sandbox: test, pull, push, find."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from plantsync.connectors.base import Cursor, PushRecord
from plantsync.connectors.sap.connector import SapConnector
from plantsync.entities import Direction, EntityType
from plantsync.errors import ERPValidationError
from plantsync.mappings.schema import load_default_mapping
from plantsync.sandbox.sap.app import SapSandbox

Make = Callable[..., SapConnector]


def test_test_success_and_diagnoses(make_connector: Make) -> None:
    ok = make_connector().test()
    assert ok.success and ok.latency_ms >= 0
    assert ok.message.startswith("Successfully connected to SAP (API_EQUIPMENT, ")
    bad = make_connector(auth={"password": "wrong"}).test()
    assert not bad.success and "401" in bad.message and "wrong" not in bad.message
    resources = load_default_mapping("sap").resources()
    moved = dict(resources)
    res = resources[EntityType.machine][Direction.inbound]
    moved[EntityType.machine] = {Direction.inbound: replace(res, path="ZPM_EQUI_SRV/Equipment")}
    missing = make_connector(resources=moved).test()
    assert not missing.success
    assert "/sap/opu/odata/sap/ZPM_EQUI_SRV/" in missing.message and "404" in missing.message
    moved[EntityType.machine] = {Direction.inbound: replace(res, path="API_EQUIPMENT/Nope")}
    no_set = make_connector(resources=moved).test()
    assert "has no entity set Nope" in no_set.message


def test_pull_machines_current_validity_only(make_connector: Make, sap_sandbox: SapSandbox) -> None:
    pages = list(make_connector().pull(EntityType.machine))
    records = [r for p in pages for r in p.records]
    assert len(pages) > 1 and pages[-1].cursor is not None
    rows = sap_sandbox.dump("machine")
    current = {r["Equipment"] for r in rows if r["ValidityEndDate"].year == 9999}
    assert len(rows) > len(current)  # some equipment has an expired period too
    assert sorted(r.key for r in records) == sorted(current)
    assert not any(r.fields["EquipmentName"].startswith("(old)") for r in records)
    assert any(r.deleted for r in records)  # inactive equipment arrives deactivated


def test_incremental_pull(make_connector: Make) -> None:
    connector = make_connector()
    first = list(connector.pull(EntityType.machine))
    watermark = first[-1].cursor.watermark  # type: ignore[union-attr]
    again = list(connector.pull(EntityType.machine, since=Cursor(watermark=watermark)))
    assert [r.key for p in again for r in p.records] == ["10000029"]
    orders = list(connector.pull(EntityType.work_order))
    released = [r for p in orders for r in p.records]
    assert released and all(r.fields["OrderIsReleased"] == "X" for r in released)
    start = released[0].fields["MfgOrderPlannedStartDate"]
    assert start.hour == 6 and start.tzinfo is not None  # date + time combined
    since = Cursor(watermark=datetime(2024, 1, 1, 6, 25, tzinfo=UTC))
    later = [r for p in connector.pull(EntityType.work_order, since=since) for r in p.records]
    assert {r.key for r in later} == {"1000025", "1000026", "1000027", "1000028"}


def test_push_work_orders_with_status_and_a_failing_record(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    connector = make_connector()
    ref = str(uuid.uuid4())
    records = [
        PushRecord(
            "a",
            {
                "MaintenanceOrderDesc": "Fix press",
                "Equipment": "10000001",
                "MaintenanceOrderType": "PM01",
                "SystemStatusText": "REL",
                "MaintOrdBasicStartDateTime": datetime(2024, 5, 1, 8, tzinfo=UTC),
            },
            reference=ref,
        ),
        PushRecord("b", {"MaintenanceOrderDesc": "x" * 41}, reference="r-b"),
        PushRecord("c", {"MaintenanceOrderDesc": "Oil", "Nonsense": 1}, reference="r-c"),
    ]
    results = connector.push(EntityType.work_order, records)
    assert results[0].ok and results[0].created and results[0].erp_key
    assert "MaintenanceOrderDesc" in str(results[1].error)
    assert "Nonsense" in str(results[2].error)
    row = next(
        r for r in sap_sandbox.dump("work_order") if r["MaintenanceOrder"] == results[0].erp_key
    )
    assert row["SystemStatusText"] == "REL" and row["ReferenceElement"] == ref
    # update + status change go in one changeset; a refused status is that record's error
    update = PushRecord(
        "a",
        {"MaintenanceOrderDesc": "Fixed", "SystemStatusText": "TECO"},
        erp_key=results[0].erp_key,
        reference=ref,
    )
    [done] = connector.push(EntityType.work_order, [update])
    assert done.ok and done.erp_key == results[0].erp_key and not done.created
    row = next(r for r in sap_sandbox.dump("work_order") if r["MaintenanceOrder"] == done.erp_key)
    assert (row["MaintenanceOrderDesc"], row["SystemStatusText"]) == ("Fixed", "TECO")


def test_lost_answer_is_reconciled_not_duplicated(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    connector = make_connector()
    ref = str(uuid.uuid4())
    record = PushRecord("w1", {"MaintenanceOrderDesc": "Belt"}, reference=ref)
    [first] = connector.push(EntityType.work_order, [record])
    before = len(sap_sandbox.dump("work_order"))
    # the engine did not learn the answer: it sends again with maybe_sent
    [again] = connector.push(EntityType.work_order, [replace(record, maybe_sent=True)])
    assert again.ok and again.erp_key == first.erp_key
    assert len(sap_sandbox.dump("work_order")) == before
    found = connector.find(EntityType.work_order, ref)
    assert found is not None and found.key == first.erp_key
    assert connector.find(EntityType.work_order, str(uuid.uuid4())) is None


def test_downtime_notifications(make_connector: Make, sap_sandbox: SapSandbox) -> None:
    connector = make_connector()
    ref = "downtime-" + "x" * 40  # longer than the 20-character reference field
    ok = PushRecord(
        "d1",
        {
            "NotificationText": "Jam on press",
            "TechnicalObject": "10000002",
            "MalfunctionStartDate": datetime(2024, 5, 1, 8, 15, tzinfo=UTC),
            "MalfunctionEndDate": datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
            "MaintObjectDowntimeDuration": 45,
            "MaintenanceObjectIsDown": True,
        },
        reference=ref,
    )
    missing = PushRecord("d2", {"TechnicalObject": "10000002"}, reference="d2")
    results = connector.push(EntityType.downtime, [ok, missing])
    assert results[0].ok and results[0].erp_key
    assert isinstance(results[1].error, ERPValidationError)
    assert "NotificationText" in str(results[1].error)
    row = next(
        r
        for r in sap_sandbox.dump("downtime")
        if r["MaintenanceNotification"] == results[0].erp_key
    )
    assert row["MalfunctionStartTime"].hour == 8 and row["MalfunctionStartTime"].minute == 15
    assert len(row["MaintNotifExtReferenceNumber"]) == 20
    assert connector.find(EntityType.downtime, ref).key == results[0].erp_key  # type: ignore[union-attr]


def test_confirmations_are_create_only(make_connector: Make, sap_sandbox: SapSandbox) -> None:
    connector = make_connector()
    ref = str(uuid.uuid4())
    fields = {
        "OrderID": "1000003",
        "OrderOperation": "0010",
        "ConfirmationYieldQuantity": Decimal("12"),
        "OpWorkQuantityUnit2": "MIN",
    }
    [made] = connector.push(EntityType.production_data, [PushRecord("p1", fields, reference=ref)])
    assert made.ok and "|" in (made.erp_key or "")
    corrected = PushRecord(
        "p1",
        {**fields, "ConfirmationYieldQuantity": Decimal("15")},
        erp_key=made.erp_key,
        reference=ref,
    )
    [fixed] = connector.push(EntityType.production_data, [corrected])
    assert fixed.ok and fixed.erp_key != made.erp_key
    rows = {
        f"{r['ConfirmationGroup']}|{r['ConfirmationCount']}": r
        for r in sap_sandbox.dump("production_data")
    }
    assert rows[made.erp_key]["IsReversed"] is True  # type: ignore[index]
    assert rows[fixed.erp_key]["ConfirmationYieldQuantity"] == Decimal("15")  # type: ignore[index]
    assert connector.find(EntityType.production_data, ref).key == fixed.erp_key  # type: ignore[union-attr]
    # a repeated correction whose first answer was lost is not applied twice
    [same] = connector.push(EntityType.production_data, [replace(corrected, maybe_sent=True)])
    assert same.erp_key == fixed.erp_key
    bad = PushRecord("p2", {**fields, "OrderID": "999"}, reference=str(uuid.uuid4()))
    [refused] = connector.push(EntityType.production_data, [bad])
    assert "Order 999 does not exist" in str(refused.error)


def test_expired_csrf_session_is_refetched(make_connector: Make, sap_sandbox: SapSandbox) -> None:
    connector = make_connector()
    connector.push(EntityType.work_order, [PushRecord("x", {"MaintenanceOrderDesc": "one"})])
    sap_sandbox._sessions.clear()  # the Gateway session expired
    [result] = connector.push(
        EntityType.work_order, [PushRecord("y", {"MaintenanceOrderDesc": "two"})]
    )
    assert result.ok
