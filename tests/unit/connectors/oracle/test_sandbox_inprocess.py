"""The Oracle connector against the Oracle sandbox in-process (ASGI, no sockets)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from plantsync.connectors.base import ConnectorConfig, Cursor, PushRecord
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.oracle.auth import OracleAuthConfig
from plantsync.connectors.oracle.connector import OracleConnector
from plantsync.entities import EntityType
from plantsync.mappings.schema import load_default_mapping
from plantsync.sandbox.oracle.app import OracleSandbox

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ORIGIN = "https://sandbox.local"
RECORDS = 130


@pytest.fixture
def sandbox() -> OracleSandbox:
    return OracleSandbox(records=RECORDS, seed=3)


def connect(
    sandbox: OracleSandbox, *, oauth: bool = False, page_size: int = 50, **auth: Any
) -> OracleConnector:
    info = sandbox.info(ORIGIN)
    config = ConnectorConfig(
        provider="oracle",
        base_url=info["base_url"],
        auth=OracleAuthConfig.model_validate(
            {**info["oauth_auth_config" if oauth else "auth_config"], **auth}
        ),
        resources=load_default_mapping("oracle").resources(),
        tenant_id=uuid.UUID(int=1),
        connection_id=uuid.UUID(int=2),
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.0),
        page_size=page_size,
    )
    return OracleConnector(config, client=TestClient(sandbox.app, base_url=ORIGIN))


@pytest.fixture
def connector(sandbox: OracleSandbox) -> Iterator[OracleConnector]:
    con = connect(sandbox)
    yield con
    con.client.close()


def test_default_page_is_25_when_limit_is_absent(sandbox: OracleSandbox) -> None:
    client = TestClient(sandbox.app, base_url=ORIGIN)
    info = sandbox.info(ORIGIN)["auth_config"]
    body = client.get(
        "/fscmRestApi/resources/11.13.18.05/workOrders", auth=(info["username"], info["password"])
    ).json()
    assert body["count"] == 25 and body["hasMore"] is True and body["limit"] == 25
    assert "links" in body and "links" in body["items"][0]  # onlyData not asked for


@pytest.mark.parametrize("entity", [EntityType.machine, EntityType.work_order])
def test_complete_pull_across_pages(connector: OracleConnector, entity: EntityType) -> None:
    pages = list(connector.pull(entity))
    keys = [r.key for p in pages for r in p.records]
    assert len(pages) == 3 and len(keys) == RECORDS == len(set(keys))
    assert all("links" not in r.fields for p in pages for r in p.records)


@pytest.mark.parametrize("version", [1, 2, 4])
def test_incremental_pull_sees_only_changes(sandbox: OracleSandbox, version: int) -> None:
    con = connect(sandbox, rest_framework_version=version)
    cursor = list(con.pull(EntityType.machine))[-1].cursor
    assert cursor is not None and cursor.watermark is not None
    changed = next(iter(sandbox.state.rows["installedBaseAssets"].values()))
    changed["Description"] = "Renamed press"
    changed["LastUpdateDate"] = "2026-03-01T08:00:00.000+00:00"
    pages = list(con.pull(EntityType.machine, since=cursor))
    records = [r for p in pages for r in p.records]
    # >= the watermark: the row(s) of the watermark's own instant come again, nothing older.
    assert [r.fields["Description"] for r in records if r.changed_at != cursor.watermark] == [
        "Renamed press"
    ]
    assert all(r.changed_at and r.changed_at >= cursor.watermark for r in records)
    assert pages[-1].cursor == Cursor(watermark=records[-1].changed_at)


def wo(i: int, **extra: Any) -> PushRecord:
    fields = {
        "WorkOrderDescription": f"Fix {i}",
        "OrganizationCode": "M1",
        "AssetId": 300100000000001,
        **extra,
    }
    return PushRecord(local_id=f"L{i}", fields=fields, reference=f"PS-{i}")


def test_push_batch_with_bad_records_lands_the_good_ones(
    sandbox: OracleSandbox, connector: OracleConnector
) -> None:
    before = len(sandbox.dump("work_order"))
    batch = [wo(i) for i in range(10)]
    batch[2] = wo(2, Bogus="x")  # unknown attribute
    batch[6] = wo(6, WorkOrderPriority="high")  # wrong type
    batch[7] = wo(7, LastUpdateDate="2026-01-01T00:00:00Z")  # read-only
    results = connector.push(EntityType.work_order, batch)
    assert [r.ok for r in results] == [i not in (2, 6, 7) for i in range(10)]
    messages = {r.local_id: str(r.error) for r in results if r.error}
    assert (
        "Bogus" in messages["L2"]
        and "WorkOrderPriority" in messages["L6"]
        and "read-only" in messages["L7"]
    )
    rows = sandbox.dump("work_order")
    assert len(rows) == before + 7
    mine = {r["WorkOrderNumber"]: r for r in rows if str(r["WorkOrderNumber"]).startswith("PS-")}
    assert set(mine) == {f"PS-{i}" for i in range(10) if i not in (2, 6, 7)}
    assert {str(mine[f"PS-{i}"]["WorkOrderId"]) for i in (0, 1)} == {
        results[0].erp_key,
        results[1].erp_key,
    }


def test_update_and_find(sandbox: OracleSandbox, connector: OracleConnector) -> None:
    [created] = connector.push(EntityType.work_order, [wo(1)])
    assert created.created and created.erp_key
    [updated] = connector.push(
        EntityType.work_order,
        [
            PushRecord(
                local_id="L1", fields={"WorkOrderDescription": "Done"}, erp_key=created.erp_key
            )
        ],
    )
    assert updated.ok and not updated.created and updated.erp_key == created.erp_key
    found = connector.find(EntityType.work_order, "PS-1")
    assert (
        found is not None
        and found.key == created.erp_key
        and found.fields["WorkOrderDescription"] == "Done"
    )
    assert connector.find(EntityType.work_order, "PS-404") is None


def test_maybe_sent_is_not_duplicated(sandbox: OracleSandbox, connector: OracleConnector) -> None:
    [first] = connector.push(EntityType.work_order, [wo(5)])
    [again] = connector.push(EntityType.work_order, [replace(wo(5), maybe_sent=True)])
    assert again.erp_key == first.erp_key
    assert [r["WorkOrderNumber"] for r in sandbox.dump("work_order")].count("PS-5") == 1


def test_downtime_and_production_data(sandbox: OracleSandbox, connector: OracleConnector) -> None:
    down = PushRecord(
        local_id="D1",
        fields={
            "AssetId": 300100000000001,
            "StartDate": "2026-01-05T10:00:00.000+00:00",
            "ReasonCode": "JAM",
            "PlannedFlag": False,
        },
        reference="dt-1",
    )
    prod = PushRecord(
        local_id="P1",
        fields={
            "StartDate": "2026-01-05T10:00:00.000+00:00",
            "GoodQuantity": 120,
            "ScrapQuantity": 3,
        },
        reference="pd-1",
    )
    assert connector.push(EntityType.downtime, [down])[0].ok
    assert connector.push(EntityType.production_data, [prod])[0].ok
    assert [r for r in sandbox.dump("downtime") if r["ExternalReference"] == "dt-1"]
    assert [r for r in sandbox.dump("production_data") if r["ExternalReference"] == "pd-1"]
    missing = connector.push(
        EntityType.downtime,
        [PushRecord(local_id="D2", fields={"ReasonCode": "X"}, reference="dt-2")],
    )
    assert "required" in str(missing[0].error)


def test_oauth_bearer_and_token_refetch_after_revocation(sandbox: OracleSandbox) -> None:
    con = connect(sandbox, oauth=True)
    assert con.test().success
    sandbox.revoke_tokens()
    assert sum(len(p.records) for p in con.pull(EntityType.machine)) == RECORDS


def test_diagnostics(sandbox: OracleSandbox) -> None:
    ok = connect(sandbox).test()
    assert ok.success and ok.message.startswith(
        "Successfully connected to Oracle (installedBaseAssets, maintenanceWorkOrders"
    )
    assert not connect(sandbox, password="wrong").test().success
    bad_secret = connect(sandbox, oauth=True, client_secret="wrong").test()
    assert (
        not bad_secret.success
        and "invalid_client" in bad_secret.message
        and "wrong" not in bad_secret.message
    )
    sandbox.missing_resources.add("plantDowntimeEvents")
    missing = connect(sandbox).test()
    assert not missing.success and "plantDowntimeEvents" in missing.message
    sandbox.missing_resources.clear()
    sandbox.forbidden_resources.add("workOrders")
    forbidden = connect(sandbox).test()
    assert (
        not forbidden.success and "403" in forbidden.message and "workOrders" in forbidden.message
    )


def test_reset_is_deterministic() -> None:
    a, b = OracleSandbox(records=5, seed=9), OracleSandbox(records=5, seed=9)
    assert a.dump("machine") == b.dump("machine")
    a.reset(records=2)
    assert len(a.dump("machine")) == 2
