"""Production runs, batched counts, OEE snapshots over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.plant import Machine, MachineStatus
from plantsync.core.models.production import ProductionRun
from plantsync.core.principal import Role
from plantsync.core.services.changes import await_horizon, changed_since
from tests.factories import create_tenant
from tests.integration.production.helpers import make_downtime, make_machine, make_site

# Monday 2026-01-05; Berlin is UTC+1 in winter.
DAY = datetime(2026, 1, 5, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.isoformat()


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def test_run_lifecycle_counts_and_change_stamp(
    client: TestClient, db: Database, tenant: Tenant, headers
) -> None:
    op = headers(Role.operator)
    machine = make_machine(db, tenant.id)
    body = {"machine_id": str(machine.id), "started_at": iso(at(6))}
    started = client.post("/api/v1/production/run-start", json=body, headers=op)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    again = client.post("/api/v1/production/run-start", json=body, headers=op)
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"

    items = [
        {
            "machine_id": str(machine.id),
            "good": 100,
            "scrap": 2,
            "recorded_at": iso(at(6.5)),
            "client_ref": "c-1",
        },
        {
            "machine_id": str(machine.id),
            "good": 90,
            "scrap": 3,
            "recorded_at": iso(at(7)),
            "client_ref": "c-2",
        },
    ]
    first = client.post("/api/v1/production/cycles", json={"items": items}, headers=op)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2
    assert {r["run_id"] for r in first.json()["results"]} == {run_id}
    # The counter lost the answer and resends the batch plus a new item.
    items.append(
        {
            "machine_id": str(machine.id),
            "good": 10,
            "scrap": 0,
            "recorded_at": iso(at(7.5)),
            "client_ref": "c-3",
        }
    )
    resend = client.post("/api/v1/production/cycles", json={"items": items}, headers=op).json()
    assert (resend["created"], resend["duplicates"], resend["failed"]) == (1, 2, 0)
    reused = [{**items[0], "good": 1}]
    clash = client.post("/api/v1/production/cycles", json={"items": reused}, headers=op).json()
    assert clash["results"][0]["status"] == "error"
    assert "items.0.client_ref" in clash["results"][0]["errors"]

    make_downtime(db, machine, at(7), at(7.25))
    stopped = client.post(
        "/api/v1/production/run-stop",
        json={"machine_id": str(machine.id), "stopped_at": iso(at(8))},
        headers=op,
    )
    assert stopped.status_code == 200, stopped.text
    run = stopped.json()
    assert run["status"] == "closed"
    assert (run["good_count"], run["scrap_count"]) == (200, 5)
    assert run["downtime_s"] == pytest.approx(900)
    assert run["run_time_s"] == pytest.approx(2 * 3600 - 900)
    # A retried stop by run id answers the closed run; by machine it is a 409.
    assert (
        client.post("/api/v1/production/run-stop", json={"run_id": run_id}, headers=op).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/production/run-stop", json={"machine_id": str(machine.id)}, headers=op
        ).status_code
        == 409
    )

    # The feed waits for transactions open elsewhere on the server (other processes' tests).
    assert await_horizon(db, timeout_s=30)
    with db.read_session() as s:
        rows, _mark = changed_since(session=s, model=ProductionRun, tenant_id=tenant.id, after=None)
        assert [str(r.id) for r in rows] == [run_id]
        assert s.get(Machine, machine.id).status == MachineStatus.idle  # type: ignore[union-attr]

    listed = client.get(
        f"/api/v1/production/runs?machine_id={machine.id}", headers=headers(Role.viewer)
    )
    assert [r["id"] for r in listed.json()["items"]] == [run_id]
    cycles = client.get(f"/api/v1/production/cycles?run_id={run_id}&limit=2", headers=op).json()
    assert len(cycles["items"]) == 2 and cycles["next_cursor"]


def test_oee_snapshot_matches_hand_calculation(
    client: TestClient, db: Database, tenant: Tenant, headers
) -> None:
    site = make_site(db, tenant.id, "Europe/Berlin")
    machine = make_machine(db, tenant.id, site_id=site.id, ideal_cycle_time_s=20)
    admin, op = headers(Role.admin), headers(Role.operator)
    schedule = {
        "site_id": str(site.id),
        "name": "Early",
        "start_time": "06:00:00",
        "end_time": "14:00:00",
    }
    created = client.post("/api/v1/shifts", json=schedule, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["time_zone"] == "Europe/Berlin"
    # Shift: 05:00-13:00 UTC (480 min). Break 08:00-08:30 UTC planned (30 min).
    # Breakdown 10:00-10:40 UTC (40 min), and one outside the shift (ignored).
    make_downtime(db, machine, at(8), at(8.5), planned=True, reason="BREAK")
    make_downtime(db, machine, at(10), at(10) + timedelta(minutes=40))
    make_downtime(db, machine, at(15), at(16))
    counts = [
        {"machine_id": str(machine.id), "good": 500, "scrap": 20, "recorded_at": iso(at(9))},
        {"machine_id": str(machine.id), "good": 430, "scrap": 10, "recorded_at": iso(at(12))},
        {
            "machine_id": str(machine.id),
            "good": 99,
            "scrap": 0,
            "recorded_at": iso(at(14)),
        },  # outside
    ]
    assert (
        client.post("/api/v1/production/cycles", json={"items": counts}, headers=op).json()[
            "created"
        ]
        == 3
    )

    params = {"machine_id": str(machine.id), "from": iso(at(0)), "to": iso(at(13.5))}
    snap = client.get(
        "/api/v1/production/oee-snapshot", params=params, headers=headers(Role.viewer)
    )
    assert snap.status_code == 200, snap.text
    data = snap.json()
    planned = (480 - 30) * 60  # 27000 s
    run = planned - 40 * 60  # 24600 s
    total, good = 960, 930
    assert data["inputs"]["scheduled_time_s"] == 480 * 60
    assert data["inputs"]["planned_time_s"] == planned
    assert data["inputs"]["run_time_s"] == run
    assert (data["inputs"]["total_count"], data["inputs"]["good_count"]) == (total, good)
    assert data["availability"] == pytest.approx(24600 / 27000)  # 0.9111
    assert data["performance"] == pytest.approx(20 * 960 / 24600)  # 0.7805
    assert data["quality"] == pytest.approx(930 / 960)  # 0.96875
    assert data["oee"] == pytest.approx(20 * 930 / 27000)  # 0.6889
    assert data["flags"] == []

    # Saturday: no shift, so no planned time — flagged, not an error.
    weekend = {"machine_id": str(machine.id), "from": iso(at(5 * 24)), "to": iso(at(6 * 24))}
    empty = client.get("/api/v1/production/oee-snapshot", params=weekend, headers=op).json()
    assert empty["oee"] is None
    assert "no_planned_time" in [f["code"] for f in empty["flags"]]


def test_bad_input_is_a_clear_4xx(
    client: TestClient, db: Database, tenant: Tenant, headers
) -> None:
    op = headers(Role.operator)
    machine = make_machine(db, tenant.id)
    naive = client.post(
        "/api/v1/production/run-start",
        json={"machine_id": str(machine.id), "started_at": "2026-01-05T06:00:00"},
        headers=op,
    )
    assert naive.status_code == 422
    assert "started_at" in naive.json()["errors"]
    negative = client.post(
        "/api/v1/production/cycles",
        json={"items": [{"machine_id": str(machine.id), "good": -1}]},
        headers=op,
    )
    assert negative.status_code == 422
    assert "items.0.good" in negative.json()["errors"]
    backwards = client.get(
        "/api/v1/production/oee-snapshot",
        params={"machine_id": str(machine.id), "from": iso(at(5)), "to": iso(at(4))},
        headers=op,
    )
    assert backwards.status_code == 422
    assert "to" in backwards.json()["errors"]
    future = client.post(
        "/api/v1/production/run-start",
        json={
            "machine_id": str(machine.id),
            "started_at": iso(datetime.now(UTC) + timedelta(days=1)),
        },
        headers=op,
    )
    assert future.status_code == 422


def test_roles(client: TestClient, db: Database, tenant: Tenant, headers) -> None:
    machine = make_machine(db, tenant.id)
    viewer = headers(Role.viewer)
    body = {"machine_id": str(machine.id)}
    assert client.post("/api/v1/production/run-start", json=body, headers=viewer).status_code == 403
    assert client.post("/api/v1/production/run-start", json=body).status_code == 401
    params = {"machine_id": str(machine.id), "from": iso(at(0)), "to": iso(at(1))}
    assert (
        client.get("/api/v1/production/oee-snapshot", params=params, headers=viewer).status_code
        == 200
    )


def test_tenant_isolation(client: TestClient, db: Database, tenant: Tenant, headers) -> None:
    machine = make_machine(db, tenant.id)
    op_a = headers(Role.operator)
    run = client.post(
        "/api/v1/production/run-start", json={"machine_id": str(machine.id)}, headers=op_a
    ).json()
    other = create_tenant(db)
    op_b = headers(Role.admin, tenant_id=other.id)
    mid = str(machine.id)
    window = {"from": iso(at(0)), "to": iso(at(1))}
    assert (
        client.post(
            "/api/v1/production/run-start", json={"machine_id": mid}, headers=op_b
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/production/run-stop", json={"machine_id": mid}, headers=op_b
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/production/run-stop", json={"run_id": run["id"]}, headers=op_b
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/production/runs/{run['id']}", headers=op_b).status_code == 404
    assert client.get("/api/v1/production/runs", headers=op_b).json()["items"] == []
    snap = client.get(
        "/api/v1/production/oee-snapshot", params={"machine_id": mid, **window}, headers=op_b
    )
    assert snap.status_code == 404
    counted = client.post(
        "/api/v1/production/cycles", json={"items": [{"machine_id": mid, "good": 1}]}, headers=op_b
    )
    assert counted.json()["results"][0]["status"] == "error"
    assert client.get(f"/api/v1/shifts/{mid}/current", headers=op_b).status_code == 404
    assert (
        client.get(f"/api/v1/shifts/{mid}/occurrences", params=window, headers=op_b).status_code
        == 404
    )
    assert client.get(f"/api/v1/shifts?machine_id={mid}", headers=op_b).status_code == 404
    assert (
        client.get(f"/api/v1/workforce/labor-cost/{mid}", params=window, headers=op_b).status_code
        == 404
    )
    checkin = {"machine_id": mid, "worker_code": "W1", "hourly_rate_minor": 100, "currency": "EUR"}
    assert client.post("/api/v1/workforce/checkin", json=checkin, headers=op_b).status_code == 404
    with db.read_session() as s:
        assert (
            s.exec(select(ProductionRun).where(ProductionRun.tenant_id == other.id)).first() is None
        )
