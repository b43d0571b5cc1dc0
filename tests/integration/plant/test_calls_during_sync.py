"""Andon calls keep answering while a large inbound sync writes (the SQLite case matters most:
one writer at a time)."""

from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from plantsync.core.services import machines
from plantsync.core.services.changes import ChangeOrigin
from tests.conftest import HeadersFactory

API = "/api/v1"


def test_andon_calls_during_a_large_inbound_sync(
    client: TestClient, headers: HeadersFactory, db: Database, tenant: Tenant
) -> None:
    h = headers(Role.operator)
    admin = headers(Role.admin)
    ids = [
        client.post(
            f"{API}/machines", json={"code": f"A{i}", "name": "andon"}, headers=admin
        ).json()["id"]
        for i in range(3)
    ]
    items = [{"code": f"ERP-{i:05d}", "name": f"Asset {i}", "type": "pump"} for i in range(2000)]
    errors: list[BaseException] = []
    started = threading.Event()

    def sync() -> None:
        try:
            started.set()
            with db.session(write=True) as s:
                result = machines.upsert_machines(
                    session=s,
                    tenant_id=tenant.id,
                    items=items,
                    origin=ChangeOrigin.inbound_sync(uuid.uuid4()),
                )
            assert result.created == len(items)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=sync)
    worker.start()
    started.wait(5)
    answered = 0
    while worker.is_alive() or answered < 6:
        machine_id = ids[answered % 3]
        r = client.post(
            f"{API}/calls", json={"machine_id": machine_id, "call_type": "DT"}, headers=h
        )
        assert r.status_code in (200, 201), r.text
        call = r.json()
        for step in ("claim", "respond", "close"):
            assert client.post(f"{API}/calls/{call['id']}/{step}", headers=h).status_code == 200
        answered += 1
    worker.join()
    assert errors == []
    assert answered >= 6
    assert client.get(f"{API}/calls", params={"open": True}, headers=h).json()["items"] == []
