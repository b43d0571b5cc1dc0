"""Raising andon calls on both databases: a stopping call works whatever status the machine
already has."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plantsync.core.principal import Role
from tests.conftest import HeadersFactory

API = "/api/v1"


def _post(client: TestClient, path: str, h: dict[str, str], body: Any, code: int) -> Any:
    r = client.post(f"{API}{path}", json=body, headers=h)
    assert r.status_code == code, r.text
    return r.json()


def _machine(client: TestClient, h: dict[str, str], code: str) -> str:
    machine = _post(client, "/machines", h, {"code": code, "name": f"Machine {code}"}, 201)
    return str(machine["id"])


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
