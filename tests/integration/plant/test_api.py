"""The plant API on both databases: CRUD, filters and paging, roles, tenant isolation,
work-order transitions, stock, andon-call lifecycle, bulk upserts, status and timeline."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from tests.conftest import HeadersFactory
from tests.factories import create_tenant

API = "/api/v1"


def _post(client: TestClient, path: str, h: dict[str, str], body: Any, code: int = 201) -> Any:
    r = client.post(f"{API}{path}", json=body, headers=h)
    assert r.status_code == code, r.text
    return r.json()


def _machine(client: TestClient, h: dict[str, str], code: str = "PRESS-01", **kw: Any) -> Any:
    return _post(client, "/machines", h, {"code": code, "name": f"Machine {code}", **kw})


def test_machine_crud_filters_and_paging(client: TestClient, headers: HeadersFactory) -> None:
    h = headers(Role.admin)
    site = _post(
        client, "/sites", h, {"code": "HAM", "name": "Hamburg", "timezone": "Europe/Berlin"}
    )
    for code in ("M3", "M1", "M2"):
        _machine(client, h, code, type="press" if code != "M2" else "lathe", site_code="HAM")
    assert _machine(client, h, "OTHER")["site_id"] is None
    r = client.post(f"{API}/machines", json={"code": "M1", "name": "dup"}, headers=h)
    assert r.status_code == 409
    r = client.post(
        f"{API}/machines", json={"code": "M9", "name": "x", "ideal_cycle_time_s": -1}, headers=h
    )
    assert r.status_code == 422 and "ideal_cycle_time_s" in r.json()["errors"]
    r = client.post(
        f"{API}/machines", json={"code": "M9", "name": "x", "site_code": "NOPE"}, headers=h
    )
    assert r.status_code == 422 and "site_code" in r.json()["errors"]

    page1 = client.get(
        f"{API}/machines", params={"site_id": site["id"], "limit": 2}, headers=h
    ).json()
    assert [m["code"] for m in page1["items"]] == ["M1", "M2"]
    page2 = client.get(
        f"{API}/machines",
        params={"site_id": site["id"], "limit": 2, "cursor": page1["next_cursor"]},
        headers=h,
    ).json()
    assert [m["code"] for m in page2["items"]] == ["M3"] and page2["next_cursor"] is None
    presses = client.get(f"{API}/machines", params={"type": "press"}, headers=h).json()["items"]
    assert {m["code"] for m in presses} == {"M1", "M3"}
    assert client.get(f"{API}/machines", params={"limit": 501}, headers=h).status_code == 422
    assert client.get(f"{API}/machines", params={"cursor": "garbage"}, headers=h).status_code == 422

    m1 = page1["items"][0]
    r = client.patch(
        f"{API}/machines/{m1['id']}", json={"name": "Press 1", "is_active": False}, headers=h
    )
    assert r.status_code == 200 and r.json()["name"] == "Press 1"
    assert (
        client.get(f"{API}/machines", params={"is_active": False}, headers=h).json()["items"][0][
            "code"
        ]
        == "M1"
    )
    deleted = client.delete(f"{API}/machines/{m1['id']}", headers=h)
    assert deleted.status_code == 204 and "content-type" not in deleted.headers
    assert client.get(f"{API}/machines/{m1['id']}", headers=h).status_code == 404


def test_roles(client: TestClient, headers: HeadersFactory) -> None:
    admin, operator, viewer = headers(Role.admin), headers(Role.operator), headers(Role.viewer)
    m = _machine(client, admin)
    assert client.get(f"{API}/machines/{m['id']}", headers=viewer).status_code == 200
    assert (
        client.post(
            f"{API}/machines", json={"code": "X", "name": "X"}, headers=operator
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{API}/calls", json={"machine_id": m["id"], "call_type": "DT"}, headers=viewer
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{API}/calls", json={"machine_id": m["id"], "call_type": "DT"}, headers=operator
        ).status_code
        == 201
    )
    assert client.get(f"{API}/machines").status_code == 401


def test_tenant_isolation_for_every_resource(
    client: TestClient, headers: HeadersFactory, db: Database
) -> None:
    h = headers(Role.admin)
    other = headers(Role.admin, tenant_id=create_tenant(db).id)
    site = _post(client, "/sites", h, {"code": "S", "name": "S"})
    m = _machine(client, h)
    wo = _post(client, "/work-orders", h, {"number": "WO-1", "machine_id": m["id"]})
    part = _post(client, "/spare-parts", h, {"part_number": "P1", "name": "Seal", "stock": 3})
    dt = _post(
        client, "/downtime", h, {"machine_id": m["id"], "started_at": "2026-01-01T00:00:00Z"}
    )
    call = _post(client, "/calls", h, {"machine_id": m["id"], "call_type": "QA"})
    fm = _post(client, "/failure-modes", h, {"code": "F1", "name": "F"})
    rc = _post(client, "/root-causes", h, {"code": "R1", "name": "R"})
    for path in (
        f"/sites/{site['id']}", f"/machines/{m['id']}", f"/machines/{m['id']}/status",
        f"/work-orders/{wo['id']}", f"/spare-parts/{part['id']}", f"/downtime/{dt['id']}",
        f"/calls/{call['id']}", f"/failure-modes/{fm['id']}", f"/root-causes/{rc['id']}",
    ):  # fmt: skip
        assert client.get(f"{API}{path}", headers=other).status_code == 404, path
        assert client.get(f"{API}{path}", headers=h).status_code == 200, path
    assert (
        client.patch(f"{API}/machines/{m['id']}", json={"name": "x"}, headers=other).status_code
        == 404
    )
    assert (
        client.put(
            f"{API}/work-orders/{wo['id']}/status", json={"status": "released"}, headers=other
        ).status_code
        == 404
    )
    assert client.post(f"{API}/calls/{call['id']}/claim", headers=other).status_code == 404
    r = client.post(f"{API}/calls", json={"machine_id": m["id"], "call_type": "DT"}, headers=other)
    assert r.status_code == 422 and "machine_id" in r.json()["errors"]
    r = client.post(
        f"{API}/work-orders/{wo['id']}/parts",
        json={"spare_part_id": part["id"], "quantity": 1},
        headers=other,
    )
    assert r.status_code == 404
    for path in (
        "/sites",
        "/machines",
        "/work-orders",
        "/spare-parts",
        "/downtime",
        "/calls",
        "/failure-modes",
        "/root-causes",
    ):
        assert client.get(f"{API}{path}", headers=other).json()["items"] == [], path
    assert client.get(f"{API}/machines/status", headers=other).json()["items"] == []


def test_work_order_transitions_labor_parts_and_stock(
    client: TestClient, headers: HeadersFactory
) -> None:
    h, op = headers(Role.admin), headers(Role.operator)
    wo = _post(
        client, "/work-orders", h, {"number": "WO-1", "kind": "maintenance", "currency": "EUR"}
    )
    r = client.put(f"{API}/work-orders/{wo['id']}/status", json={"status": "completed"}, headers=op)
    assert r.status_code == 409 and "draft to completed" in r.json()["message"]
    for status in ("released", "in_progress"):
        r = client.put(f"{API}/work-orders/{wo['id']}/status", json={"status": status}, headers=op)
        assert r.status_code == 200 and r.json()["status"] == status
    assert r.json()["actual_start"] is not None
    labor = _post(
        client,
        f"/work-orders/{wo['id']}/labor",
        op,
        {"worker": "Ann", "hours": 1.5, "rate_minor": 6001},
    )
    assert labor["cost_minor"] == 9002  # 9001.5 rounded half-even
    part = _post(
        client,
        "/spare-parts",
        h,
        {
            "part_number": "SEAL",
            "name": "Seal",
            "stock": 3,
            "min_stock": 2,
            "unit_price_minor": 1225,
        },
    )
    use = _post(
        client, f"/work-orders/{wo['id']}/parts", op, {"part_number": "SEAL", "quantity": 2}
    )
    assert (use["cost_minor"], use["stock_after"]) == (2450, 1)
    r = client.post(
        f"{API}/work-orders/{wo['id']}/parts",
        json={"spare_part_id": part["id"], "quantity": 2},
        headers=op,
    )
    assert r.status_code == 409 and "stock" in r.json()["message"]
    got = client.get(f"{API}/spare-parts/{part['id']}", headers=h).json()
    assert (got["stock"], got["below_min"]) == (1, True)
    total = client.get(f"{API}/work-orders/{wo['id']}", headers=h).json()
    assert (total["labor_cost_minor"], total["parts_cost_minor"], total["total_cost_minor"]) == (
        9002,
        2450,
        11452,
    )
    r = client.post(
        f"{API}/work-orders/{wo['id']}/labor",
        json={"worker": "A", "hours": 1, "rate_minor": 1, "currency": "USD"},
        headers=op,
    )
    assert r.status_code == 422 and "currency" in r.json()["errors"]
    for status in ("completed", "closed"):
        assert (
            client.put(
                f"{API}/work-orders/{wo['id']}/status", json={"status": status}, headers=op
            ).status_code
            == 200
        )
    r = client.post(
        f"{API}/work-orders/{wo['id']}/labor",
        json={"worker": "A", "hours": 1, "rate_minor": 1},
        headers=op,
    )
    assert r.status_code == 409
    assert (
        client.get(f"{API}/work-orders", params={"status": "closed"}, headers=h).json()["items"][0][
            "number"
        ]
        == "WO-1"
    )
    assert len(client.get(f"{API}/work-orders/{wo['id']}/labor", headers=h).json()) == 1


def test_andon_call_lifecycle_closes_downtime(client: TestClient, headers: HeadersFactory) -> None:
    h, op = headers(Role.admin), headers(Role.operator)
    m = _machine(client, h)
    client.put(f"{API}/machines/{m['id']}/status", json={"status": "running"}, headers=op)
    call = _post(client, "/calls", op, {"machine_id": m["id"], "call_type": "DT"})
    assert call["status"] == "initiated" and call["downtime_event_id"]
    again = _post(client, "/calls", op, {"machine_id": m["id"], "call_type": "DT"}, code=200)
    assert again["id"] == call["id"]
    assert client.get(f"{API}/machines/{m['id']}/status", headers=h).json()["status"] == "down"
    event = client.get(f"{API}/downtime/{call['downtime_event_id']}", headers=h).json()
    assert event["ended_at"] is None and event["source"] == "andon"
    r = client.post(f"{API}/calls/{call['id']}/close", headers=op)
    assert r.status_code == 409 and "initiated" in r.json()["message"]
    assert (
        client.post(f"{API}/calls/{call['id']}/claim", json={"by": "Bob"}, headers=op).json()[
            "claimed_by"
        ]
        == "Bob"
    )
    assert client.post(f"{API}/calls/{call['id']}/claim", headers=op).status_code == 409
    assert client.post(f"{API}/calls/{call['id']}/respond", headers=op).status_code == 200
    _post(client, "/failure-modes", h, {"code": "JAM-F", "name": "Jam"})
    closed = client.post(
        f"{API}/calls/{call['id']}/close",
        json={"reason_code": "JAM", "failure_mode": "JAM-F"},
        headers=op,
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    event = client.get(f"{API}/downtime/{call['downtime_event_id']}", headers=h).json()
    assert (
        event["ended_at"] is not None
        and event["reason_code"] == "JAM"
        and event["failure_mode"] == "JAM-F"
    )
    assert client.get(f"{API}/machines/{m['id']}/status", headers=h).json()["status"] == "running"
    assert client.get(f"{API}/calls", params={"open": True}, headers=h).json()["items"] == []
    assert (
        client.get(
            f"{API}/downtime", params={"machine_id": m["id"], "open": False}, headers=h
        ).json()["items"][0]["id"]
        == event["id"]
    )
    tl = client.get(
        f"{API}/machines/{m['id']}/timeline",
        params={"from": "2020-01-01T00:00:00Z", "to": "2020-12-31T00:00:00Z"}, headers=h,
    )  # fmt: skip
    assert tl.status_code == 200
    r = client.get(
        f"{API}/machines/{m['id']}/timeline",
        params={"from": "2026-01-01T00:00:00", "to": "2026-01-02T00:00:00Z"},
        headers=h,
    )
    assert r.status_code == 422
    statuses = client.get(f"{API}/machines/status", headers=h).json()["items"]
    assert [s["status"] for s in statuses] == ["running"]


def test_bulk_upserts(client: TestClient, headers: HeadersFactory) -> None:
    h = headers(Role.admin)
    _machine(client, h, "M1")
    res = _post(client, "/machines/bulk", h, {"items": [
        {"code": "M1", "name": "Machine M1"},
        {"code": "M2", "name": "New"},
        {"code": "M3"},
        {"code": "M1", "name": "twice"},
        {"code": "M1b", "name": "renamed", "manufacturer": "ACME"},
    ]}, code=200)  # fmt: skip
    assert [r["outcome"] for r in res["results"]] == [
        "unchanged",
        "created",
        "failed",
        "failed",
        "created",
    ]
    assert res["results"][2]["key"] == "M3" and "name" in res["results"][2]["errors"]
    assert (res["created"], res["failed"]) == (2, 2)
    res = _post(client, "/work-orders/bulk", h, {"items": [
        {"number": "WO-1", "machine_code": "M2", "status": "released"},
        {"number": "WO-2", "machine_code": "NOPE"},
    ]}, code=200)  # fmt: skip
    assert [r["outcome"] for r in res["results"]] == ["created", "failed"]
    res = _post(
        client,
        "/work-orders/bulk",
        h,
        {"items": [{"number": "WO-1", "status": "closed"}]},
        code=200,
    )
    assert (
        res["results"][0]["outcome"] == "failed"
        and "released to closed" in res["results"][0]["message"]
    )
    item = {"machine_code": "M2", "started_at": "2026-01-01T00:00:00Z", "external_ref": "PLC-1"}
    res = _post(client, "/downtime/bulk", h, {"items": [item]}, code=200)
    assert res["results"][0]["outcome"] == "created"
    res = _post(
        client,
        "/downtime/bulk",
        h,
        {"items": [item | {"ended_at": "2026-01-01T00:10:00Z"}]},
        code=200,
    )
    assert res["results"][0]["outcome"] == "updated"
    events = client.get(f"{API}/downtime", headers=h).json()["items"]
    assert len(events) == 1 and events[0]["duration_minutes"] == 10.0
    assert client.post(f"{API}/machines/bulk", json={"items": []}, headers=h).status_code == 422


def test_docs_show_examples(client: TestClient, tenant: Tenant) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/calls"]["post"]
    assert op["requestBody"]["content"]["application/json"]["examples"]
    assert "example" in op["responses"]["201"]["content"]["application/json"]
