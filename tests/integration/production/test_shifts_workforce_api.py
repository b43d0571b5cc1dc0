"""Shift schedules, the current shift, crew check-ins and labor cost over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from tests.integration.production.helpers import make_machine, make_site

DAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


def iso(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).isoformat()


def test_schedules_machine_overrides_site_and_every_day_shift_is_current(
    client: TestClient, db: Database, tenant: Tenant, headers
) -> None:
    admin = headers(Role.admin)
    site = make_site(db, tenant.id, "America/Chicago")
    press = make_machine(db, tenant.id, site_id=site.id)
    oven = make_machine(db, tenant.id, site_id=site.id)
    day = {"site_id": str(site.id), "name": "Day", "start_time": "07:00:00", "end_time": "15:00:00"}
    assert client.post("/api/v1/shifts", json=day, headers=admin).status_code == 201
    allday = {
        "machine_id": str(oven.id), "name": "Continuous", "start_time": "00:00:00",
        "end_time": "00:00:00", "weekdays": [1, 2, 3, 4, 5, 6, 7],
    }  # fmt: skip
    assert client.post("/api/v1/shifts", json=allday, headers=admin).status_code == 201
    bad = {**day, "weekdays": [0, 8]}
    assert "weekdays" in client.post("/api/v1/shifts", json=bad, headers=admin).json()["errors"]
    both = {**day, "machine_id": str(oven.id)}
    assert client.post("/api/v1/shifts", json=both, headers=admin).status_code == 422
    assert (
        client.post("/api/v1/shifts", json=day, headers=headers(Role.operator)).status_code == 403
    )

    viewer = headers(Role.viewer)

    def names(mid: object) -> list[str]:
        page = client.get(f"/api/v1/shifts?machine_id={mid}", headers=viewer).json()
        return [s["name"] for s in page["items"]]

    assert names(press.id) == ["Day"]
    assert names(oven.id) == ["Continuous"]

    occ = client.get(
        f"/api/v1/shifts/{press.id}/occurrences",
        params={"from": iso(0), "to": iso(48)},
        headers=viewer,
    ).json()
    # 07:00 Chicago (UTC-6) is 13:00 UTC.
    assert [o["start"] for o in occ] == ["2026-01-05T13:00:00Z", "2026-01-06T13:00:00Z"]
    assert occ[0]["local_start"].startswith("2026-01-05T07:00:00")

    current = client.get(f"/api/v1/shifts/{oven.id}/current", headers=viewer).json()
    assert current["current"]["name"] == "Continuous"
    assert current["time_zone"] == "America/Chicago"


def test_checkin_moves_worker_and_labor_cost_adds_up(
    client: TestClient, db: Database, tenant: Tenant, headers
) -> None:
    op = headers(Role.operator)
    press = make_machine(db, tenant.id)
    lathe = make_machine(db, tenant.id)

    def checkin(
        machine_id: object, worker: str, rate: int, hours: float, currency: str = "eur"
    ) -> dict:
        body = {
            "machine_id": str(machine_id), "worker_code": worker, "worker_name": worker.title(),
            "hourly_rate_minor": rate, "currency": currency, "at": iso(hours),
        }  # fmt: skip
        response = client.post("/api/v1/workforce/checkin", json=body, headers=op)
        assert response.status_code == 201, response.text
        return response.json()

    ana = checkin(press.id, "ana", 3000, 6)
    assert ana["currency"] == "EUR"
    assert checkin(press.id, "ana", 3000, 6.5)["id"] == ana["id"]  # same machine: unchanged
    checkin(lathe.id, "ana", 3000, 8)  # moved: the press check-in ends at 08:00
    ben = checkin(press.id, "ben", 2500, 6)
    out = client.post(
        "/api/v1/workforce/checkout", json={"worker_code": "ben", "at": iso(10.5)}, headers=op
    )
    assert out.status_code == 200 and out.json()["checked_out_at"] == "2026-01-05T10:30:00Z"
    assert (
        client.post(
            "/api/v1/workforce/checkout", json={"checkin_id": ben["id"]}, headers=op
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/workforce/checkout", json={"worker_code": "ben"}, headers=op
        ).status_code
        == 404
    )
    assert client.post("/api/v1/workforce/checkout", json={}, headers=op).status_code == 422

    cost = client.get(
        f"/api/v1/workforce/labor-cost/{press.id}", params={"from": iso(7), "to": iso(12)},
        headers=headers(Role.viewer),
    ).json()  # fmt: skip
    # ana 07:00-08:00 = 1 h x 30.00; ben 07:00-10:30 = 3.5 h x 25.00
    assert cost["totals"] == [{"currency": "EUR", "hours": 4.5, "amount_minor": 3000 + 8750}]
    assert {w["worker_code"]: w["amount_minor"] for w in cost["workers"]} == {
        "ana": 3000,
        "ben": 8750,
    }

    open_now = client.get("/api/v1/workforce/checkins?open=true", headers=op).json()["items"]
    assert [(c["worker_code"], c["machine_id"]) for c in open_now] == [("ana", str(lathe.id))]
    bad = {
        "machine_id": str(press.id),
        "worker_code": "x",
        "hourly_rate_minor": 1,
        "currency": "E1",
    }
    assert (
        "currency"
        in client.post("/api/v1/workforce/checkin", json=bad, headers=op).json()["errors"]
    )
