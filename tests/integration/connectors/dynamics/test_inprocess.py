"""The Dynamics connector against the in-process Dataverse sandbox (msal included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantsync.connectors.base import Cursor, Page, PushRecord
from plantsync.connectors.dynamics.connector import DynamicsConnector
from plantsync.entities import EntityType
from plantsync.sandbox.dynamics.app import CLIENT_SECRET, DynamicsSandbox
from tests.integration.connectors.dynamics.conftest import RECORDS

Make = Callable[..., tuple[DynamicsConnector, list[float]]]


def keys(pages: list[Page]) -> list[str]:
    return [r.key for p in pages for r in p.records]


def test_full_pull_is_complete_across_pages(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make(page_size=10)
    pages = list(connector.pull(EntityType.machine))
    assert len(pages) == 6
    pulled = keys(pages)
    assert len(pulled) == len(set(pulled)) == RECORDS
    assert set(pulled) == {row["msdyn_customerassetid"] for row in dataverse.dump("machine")}
    first = pages[0].records[0].fields
    assert first["_msdyn_customerassetcategory_value@OData.Community.Display.V1.FormattedValue"]


def test_delta_pull_brings_updates_and_deletions(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make(page_size=10)
    cursor = list(connector.pull(EntityType.machine))[-1].cursor
    assert cursor is not None and cursor.delta_token
    gone = dataverse.dump("machine")[5]["msdyn_customerassetid"]
    dataverse.delete_row("machine", gone)
    (page,) = connector.pull(EntityType.machine, since=cursor)
    assert [(r.key, r.deleted) for r in page.records] == [(gone, True)]
    assert page.cursor is not None and page.cursor.delta_token != cursor.delta_token
    (again,) = connector.pull(EntityType.machine, since=page.cursor)
    assert again.records == []


def test_work_order_changes_arrive_once(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make(page_size=25)
    cursor = list(connector.pull(EntityType.work_order))[-1].cursor
    order = dataverse.dump("work_order")[0]["msdyn_workorderid"]
    result = connector.push(
        EntityType.work_order,
        [
            PushRecord(
                local_id="x", erp_key=order, fields={"msdyn_workordersummary": "Bearing swap"}
            )
        ],
    )
    assert result[0].ok, result[0].error
    pages = list(connector.pull(EntityType.work_order, since=cursor))
    assert [r.key for p in pages for r in p.records] == [order]
    assert pages[-1].records[0].fields["msdyn_workordersummary"] == "Bearing swap"


def test_expired_delta_token_gives_a_full_pull(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make(page_size=20)
    cursor = list(connector.pull(EntityType.machine))[-1].cursor
    dataverse.expire_delta_tokens()
    pages = list(connector.pull(EntityType.machine, since=cursor))
    assert all(p.full for p in pages) and "expired" in (pages[0].note or "")
    assert len(keys(pages)) == RECORDS
    assert pages[-1].cursor is not None and pages[-1].cursor.delta_token


def test_table_without_change_tracking_uses_modifiedon(
    make: Make, dataverse: DynamicsSandbox
) -> None:
    dataverse.set_change_tracking("msdyn_customerassets", False)
    connector, _ = make(page_size=100)
    (page,) = connector.pull(EntityType.machine)
    assert page.cursor is not None and page.cursor.delta_token is None
    watermark = page.cursor.watermark
    (newer,) = connector.pull(EntityType.machine, since=Cursor(watermark=watermark))
    # `ge` repeats the rows at the watermark itself (idempotent), never misses later ones.
    assert {r.key for r in newer.records} == {
        r.key for r in page.records if r.changed_at and r.changed_at >= watermark
    }


def wo(local_id: str, **fields: Any) -> PushRecord:
    return PushRecord(local_id=local_id, fields={"msdyn_name": f"WO-{local_id}", **fields})


def test_push_with_one_bad_record(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make()
    asset = dataverse.dump("machine")[0]["msdyn_customerassetid"]
    before = len(dataverse.dump("work_order"))
    results = connector.push(
        EntityType.work_order,
        [wo("a", msdyn_customerasset=asset), wo("b", msdyn_name="x" * 101), wo("c")],
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].created and results[0].erp_key
    assert "maximum allowed length" in str(results[1].error)
    rows = {r["msdyn_workorderid"]: r for r in dataverse.dump("work_order")}
    assert len(rows) == before + 2
    assert rows[results[0].erp_key]["_msdyn_customerasset_value"] == asset


def test_repeated_create_is_an_update(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make()
    before = len(dataverse.dump("downtime"))
    asset = dataverse.dump("machine")[0]["msdyn_customerassetid"]
    record = PushRecord(
        local_id="dt-1",
        fields={
            "plnt_machine": asset,
            "plnt_startedon": "2024-06-01T08:00:00Z",
            "plnt_planned": False,
        },
    )
    first = connector.push(EntityType.downtime, [record])[0]
    second = connector.push(EntityType.downtime, [record])[0]
    assert first.created and not second.created and first.erp_key == second.erp_key
    assert len(dataverse.dump("downtime")) == before + 1
    found = connector.find(EntityType.downtime, "dt-1")
    assert found is not None and found.key == first.erp_key


def test_diagnostics(make: Make, dataverse: DynamicsSandbox) -> None:
    ok = make()[0].test()
    assert ok.success and ok.message.startswith("Successfully connected to Dynamics 365 (")
    bad = make(auth={"client_secret": "wrong"})[0].test()
    assert not bad.success and "AADSTS7000215" in bad.message and "wrong" not in bad.message
    assert CLIENT_SECRET not in bad.message
    wrong_path = make(base_url="https://sandbox.local/crm")[0].test()
    assert not wrong_path.success
    dataverse.drop_table("msdyn_workorders")
    missing = make()[0].test()
    assert not missing.success and "msdyn_workorders" in missing.message


def test_throttling_is_honoured(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, sleeps = make(page_size=100)
    dataverse.throttle(2, retry_after=3)
    (page,) = connector.pull(EntityType.machine)
    assert sleeps == [3.0, 3.0] and len(page.records) == RECORDS


def test_expired_access_token_is_renewed(make: Make, dataverse: DynamicsSandbox) -> None:
    connector, _ = make(page_size=100)
    list(connector.pull(EntityType.machine))
    dataverse.expire_access_tokens()
    (page,) = connector.pull(EntityType.machine)
    assert len(page.records) == RECORDS
    assert dataverse.token_requests == 2
