"""Sync requests and logs over the API: matrix, dedupe (202/200), retry, filters, paging, roles."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.db import Database
from plantsync.core.models import Tenant, WorkOrder
from plantsync.core.models.integration import SyncStatus, SyncTrigger
from plantsync.core.principal import Role
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from tests.factories import create_tenant
from tests.integration.connections.test_connections_api import BASE, EXAMPLE

LOGS = "/api/v1/erp/logs"


@pytest.fixture
def admin(headers: Any) -> dict[str, str]:
    return dict(headers(Role.admin))


@pytest.fixture
def conn_id(client: TestClient, admin: dict[str, str]) -> str:
    resp = client.post(BASE, json=EXAMPLE, headers=admin)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _finish(db: Database, log_id: str, status: SyncStatus, message: str = "done") -> None:
    with db.write_session() as s:
        runs.finish(uuid.UUID(log_id), status, runs.RunCounts(read=3, written=2, failed=1), message,
                    [runs.RecordFailure(code="erp_validation_error", message="bad qty", local_id="x")],
                    session=s)  # fmt: skip


def test_sync_request_dedupes_202_then_200(
    client: TestClient, admin: dict[str, str], conn_id: str, headers: Any, db: Database
) -> None:
    req = {"direction": "inbound", "entity_type": "machine"}
    first = client.post(f"{BASE}/{conn_id}/sync", json=req, headers=headers(Role.operator))
    assert first.status_code == 202, first.text
    log = first.json()
    assert log["status"] == "pending" and log["trigger"] == "manual"
    assert first.headers["location"] == f"{LOGS}/{log['id']}" == log["url"]
    second = client.post(f"{BASE}/{conn_id}/sync", json=req, headers=admin)
    assert second.status_code == 200 and second.json()["id"] == log["id"]
    other_direction = {"direction": "outbound", "entity_type": "work_order"}
    assert (
        client.post(f"{BASE}/{conn_id}/sync", json=other_direction, headers=admin).status_code
        == 202
    )
    _finish(db, log["id"], SyncStatus.success)
    third = client.post(f"{BASE}/{conn_id}/sync", json=req, headers=admin)
    assert third.status_code == 202 and third.json()["id"] != log["id"]


def test_sync_request_rules(
    client: TestClient,
    admin: dict[str, str],
    conn_id: str,
    headers: Any,
    db: Database,
    tenant: Tenant,
) -> None:
    url = f"{BASE}/{conn_id}/sync"
    bad_pair = client.post(
        url, json={"direction": "inbound", "entity_type": "downtime"}, headers=admin
    )
    assert bad_pair.status_code == 400 and "outbound:work_order" in bad_pair.json()["message"]
    bad_dir = client.post(
        url, json={"direction": "sideways", "entity_type": "machine"}, headers=admin
    )
    assert bad_dir.status_code == 422 and "direction" in bad_dir.json()["errors"]
    out = {"direction": "outbound", "entity_type": "work_order"}
    missing = client.post(url, json={**out, "entity_id": str(uuid.uuid4())}, headers=admin)
    assert missing.status_code == 404
    not_uuid = client.post(url, json={**out, "entity_id": "WO-1"}, headers=admin)
    assert not_uuid.status_code == 422 and "entity_id" in not_uuid.json()["errors"]
    wo = WorkOrder(tenant_id=tenant.id, number="WO-1")
    with db.write_session() as s:
        s.add(wo)
    ok = client.post(url, json={**out, "entity_id": str(wo.id)}, headers=admin)
    assert ok.status_code == 202 and ok.json()["entity_id"] == str(wo.id)
    inbound = client.post(url, json={"direction": "inbound", "entity_type": "machine",
                                     "entity_id": "10000042"}, headers=admin)  # fmt: skip
    assert inbound.status_code == 202 and inbound.json()["entity_id"] == "10000042"
    assert client.post(url, json=out, headers=headers(Role.viewer)).status_code == 403
    stranger = headers(Role.admin, create_tenant(db).id)
    assert client.post(url, json=out, headers=stranger).status_code == 404


def test_log_detail_retry_and_roles(
    client: TestClient, admin: dict[str, str], conn_id: str, headers: Any, db: Database
) -> None:
    req = {"direction": "outbound", "entity_type": "downtime"}
    log = client.post(f"{BASE}/{conn_id}/sync", json=req, headers=admin).json()
    assert client.post(f"{LOGS}/{log['id']}/retry", headers=admin).status_code == 409
    _finish(db, log["id"], SyncStatus.failed, "ERP unavailable after 6 attempts")
    detail = client.get(f"{LOGS}/{log['id']}", headers=headers(Role.viewer)).json()
    assert detail["status"] == "failed" and detail["records_read"] == 3
    assert detail["errors_total"] == 1 and detail["errors"][0]["message"] == "bad qty"
    assert detail["duration_ms"] is not None and detail["finished_at"]
    assert client.post(f"{LOGS}/{log['id']}/retry", headers=headers(Role.viewer)).status_code == 403
    retry = client.post(f"{LOGS}/{log['id']}/retry", headers=headers(Role.operator))
    assert retry.status_code == 202 and retry.json()["trigger"] == "retry"
    assert retry.json()["retry_of"] == log["id"] and retry.json()["attempt"] == 2
    again = client.post(f"{LOGS}/{log['id']}/retry", headers=admin)
    assert again.status_code == 200 and again.json()["id"] == retry.json()["id"]
    stranger = headers(Role.admin, create_tenant(db).id)
    assert client.get(f"{LOGS}/{log['id']}", headers=stranger).status_code == 404
    assert client.get(LOGS, headers=stranger).json()["items"] == []


def test_log_filters_and_keyset_paging(
    client: TestClient, admin: dict[str, str], conn_id: str, db: Database, tenant: Tenant
) -> None:
    ids = []
    for i in range(7):
        with db.write_session() as s:
            log, _ = runs.request_sync(session=s, tenant_id=tenant.id, connection_id=uuid.UUID(conn_id),
                                       direction=Direction.inbound, entity_type=EntityType.machine,
                                       entity_id=None, trigger=SyncTrigger.schedule, principal=None)  # fmt: skip
        ids.append(str(log.id))
        _finish(db, str(log.id), SyncStatus.success if i % 2 else SyncStatus.failed)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(LOGS, params=params, headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    failed = client.get(LOGS, params={"status": "failed"}, headers=admin).json()["items"]
    assert len(failed) == 4 and all(i["status"] == "failed" for i in failed)
    by_conn = client.get(f"{BASE}/{conn_id}/logs", params={"entity_type": "machine"}, headers=admin)
    assert len(by_conn.json()["items"]) == 7
    future = (SYSTEM_CLOCK.now() + timedelta(days=1)).isoformat()
    assert client.get(LOGS, params={"from": future}, headers=admin).json()["items"] == []
    assert client.get(LOGS, params={"cursor": "garbage"}, headers=admin).status_code == 422
    assert client.get(LOGS, params={"limit": 501}, headers=admin).status_code == 422
    conn = client.get(f"{BASE}/{conn_id}", headers=admin).json()
    machine = next(e for e in conn["schedule"] if e["entity_type"] == "machine")
    assert machine["last_status"] == "failed" and machine["next_sync_at"]
    assert conn["last_status"] == "failed"


def test_delete_conflicts_while_running_and_keeps_logs(
    client: TestClient, admin: dict[str, str], conn_id: str, db: Database
) -> None:
    log = client.post(f"{BASE}/{conn_id}/sync", json={"direction": "inbound", "entity_type": "machine"},
                      headers=admin).json()  # fmt: skip
    pending = client.post(f"{BASE}/{conn_id}/sync", json={"direction": "outbound", "entity_type": "downtime"},
                          headers=admin).json()  # fmt: skip
    with db.write_session() as s:
        assert runs.claim(uuid.UUID(log["id"]), session=s, worker_id="w1") is not None
    assert client.delete(f"{BASE}/{conn_id}", headers=admin).status_code == 409
    _finish(db, log["id"], SyncStatus.success)
    assert client.delete(f"{BASE}/{conn_id}", headers=admin).status_code == 204
    kept = client.get(f"{LOGS}/{log['id']}", headers=admin)
    assert kept.status_code == 200 and kept.json()["status"] == "success"
    skipped = client.get(f"{LOGS}/{pending['id']}", headers=admin).json()
    assert skipped["status"] == "skipped" and "deleted" in skipped["message"]


def test_another_tenants_connection_logs_are_not_found(
    client: TestClient, db: Database, headers: Any, conn_id: str, admin: dict[str, str]
) -> None:
    assert client.get(f"{BASE}/{conn_id}/logs", headers=admin).status_code == 200
    other = create_tenant(db, name="other-plant")
    stranger = headers(Role.admin, tenant_id=other.id)
    resp = client.get(f"{BASE}/{conn_id}/logs", headers=stranger)
    assert resp.status_code == 404, resp.text
    assert resp.json()["code"] == "not_found"
    assert client.get(f"{BASE}/{uuid.uuid4()}/logs", headers=admin).status_code == 404


def test_a_partial_run_is_listed_retried_and_counted(
    client: TestClient, admin: dict[str, str], conn_id: str, db: Database
) -> None:
    req = {"direction": "inbound", "entity_type": "machine"}
    log = client.post(f"{BASE}/{conn_id}/sync", json=req, headers=admin).json()
    _finish(db, log["id"], SyncStatus.partial, "Incremental pull: 2 written, 1 failed")

    partial = client.get(LOGS, params={"status": "partial"}, headers=admin).json()
    assert [i["id"] for i in partial["items"]] == [log["id"]]
    assert partial["items"][0]["records_failed"] == 1
    assert client.get(LOGS, params={"status": "success"}, headers=admin).json()["items"] == []
    bad = client.get(LOGS, params={"status": "partly"}, headers=admin)
    assert bad.status_code == 422 and "status" in bad.json()["errors"]
    conn = client.get(f"{BASE}/{conn_id}", headers=admin).json()
    assert conn["last_status"] == "partial" and conn["consecutive_failures"] == 0
    assert 'plantsync_sync_runs{status="partial"} 1.0' in client.get("/metrics").text
    retry = client.post(f"{LOGS}/{log['id']}/retry", headers=admin)
    assert retry.status_code == 202 and retry.json()["retry_of"] == log["id"]
