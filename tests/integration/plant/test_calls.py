"""Raising andon calls on both databases: a repeated press is answered from a read (no write
lock), keeps the machine and API-key checks, and a stopping call works whatever status the
machine already has."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.principal import Role
from tests.conftest import HeadersFactory
from tests.factories import create_tenant

API = "/api/v1"


def _post(client: TestClient, path: str, h: dict[str, str], body: Any, code: int) -> Any:
    r = client.post(f"{API}{path}", json=body, headers=h)
    assert r.status_code == code, r.text
    return r.json()


def _machine(client: TestClient, h: dict[str, str], code: str) -> str:
    machine = _post(client, "/machines", h, {"code": code, "name": f"Machine {code}"}, 201)
    return str(machine["id"])


def _api_key(client: TestClient, admin: dict[str, str], machine_ids: list[str]) -> dict[str, str]:
    account = _post(client, "/service-accounts", admin, {"name": "panel", "role": "operator"}, 201)
    body = {"service_account_id": account["id"], "name": "line 1 panel", "role": "operator",
            "machine_ids": machine_ids}  # fmt: skip
    return {"X-API-Key": _post(client, "/api-keys", admin, body, 201)["key"]}


def test_stopping_call_on_a_machine_already_down(
    client: TestClient, headers: HeadersFactory
) -> None:
    admin, op = headers(Role.admin), headers(Role.operator)
    machine = _machine(client, admin, "PRESS-01")
    status = client.put(f"{API}/machines/{machine}/status", json={"status": "down"}, headers=op)
    assert status.status_code == 200, status.text
    call = _post(client, "/calls", op, {"machine_id": machine, "call_type": "DT"}, 201)
    assert call["status"] == "initiated" and call["downtime_event_id"]
    event = client.get(f"{API}/downtime/{call['downtime_event_id']}", headers=admin).json()
    assert event["machine_id"] == machine and event["ended_at"] is None
    for step in ("claim", "respond", "close"):
        assert client.post(f"{API}/calls/{call['id']}/{step}", headers=op).status_code == 200
    after = client.get(f"{API}/machines/{machine}/status", headers=admin).json()
    assert after["status"] == "down"


def test_repeated_press_answers_while_another_process_writes(
    client: TestClient, headers: HeadersFactory, db: Database
) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's single write lock; PostgreSQL readers never wait for writers")
    op = headers(Role.operator)
    machine = _machine(client, headers(Role.admin), "PRESS-02")
    call = _post(client, "/calls", op, {"machine_id": machine, "call_type": "QA"}, 201)
    other = sqlite3.connect(db.engine.url.database or "", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        again = _post(client, "/calls", op, {"machine_id": machine, "call_type": "QA"}, 200)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert again["id"] == call["id"] and again["status"] == "initiated"


def test_repeated_press_keeps_the_machine_and_key_checks(
    client: TestClient, headers: HeadersFactory, db: Database
) -> None:
    admin = headers(Role.admin)
    allowed, other = _machine(client, admin, "LINE-A"), _machine(client, admin, "LINE-B")
    _post(client, "/calls", admin, {"machine_id": other, "call_type": "HELP"}, 201)
    key = _api_key(client, admin, [allowed])
    # an open call on a machine the key may not touch is neither returned nor joined
    refused = client.post(f"{API}/calls", json={"machine_id": other, "call_type": "HELP"},
                          headers=key)  # fmt: skip
    assert refused.status_code == 403
    first = _post(client, "/calls", key, {"machine_id": allowed, "call_type": "HELP"}, 201)
    again = _post(client, "/calls", key, {"machine_id": allowed, "call_type": "HELP"}, 200)
    assert again["id"] == first["id"]
    # another tenant's machine, with or without an open call, is no machine of ours
    stranger = headers(Role.admin, tenant_id=create_tenant(db).id)
    theirs = _machine(client, stranger, "LINE-A")
    _post(client, "/calls", stranger, {"machine_id": theirs, "call_type": "HELP"}, 201)
    for machine in (theirs, "00000000-0000-4000-8000-000000000000"):
        r = client.post(f"{API}/calls", json={"machine_id": machine, "call_type": "HELP"},
                        headers=admin)  # fmt: skip
        assert r.status_code == 422
        assert "machine_id" in r.json()["errors"]
