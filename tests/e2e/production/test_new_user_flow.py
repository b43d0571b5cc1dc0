"""The issue's "Done when", as a new user does it over the API: create a machine, start a run,
post counts, raise and close an andon call, stop the run, and read an OEE snapshot that matches
a hand calculation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from plantsync.api.app import create_app
from plantsync.core.clock import FrozenClock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Role

# Two hours ago, on the minute: tokens (issued by the wall clock) stay valid for the app's clock.
T0 = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def api(settings: Settings, db: Database, clock: FrozenClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=db, clock=clock)) as client:
        yield client


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_machine_run_counts_andon_call_and_oee_by_hand(
    api: TestClient, clock: FrozenClock, headers
) -> None:
    admin, operator = headers(Role.admin), headers(Role.operator)

    machine = api.post(
        "/api/v1/machines",
        json={"code": "PRESS-07", "name": "Press 7", "ideal_cycle_time_s": 30},
        headers=admin,
    )
    assert machine.status_code == 201, machine.text
    machine_id = machine.json()["id"]

    run = api.post(
        "/api/v1/production/run-start", json={"machine_id": machine_id}, headers=operator
    )
    assert run.status_code == 201, run.text
    assert (
        api.get(f"/api/v1/machines/{machine_id}/status", headers=operator).json()["status"]
        == "running"
    )

    clock.advance(timedelta(minutes=30))
    batch = {
        "items": [{"machine_id": machine_id, "good": 50, "scrap": 2, "client_ref": "press7-1"}]
    }
    assert (
        api.post("/api/v1/production/cycles", json=batch, headers=operator).json()["created"] == 1
    )

    clock.advance(timedelta(minutes=10))  # T0+40: the operator presses the DT button
    call = api.post(
        "/api/v1/calls", json={"machine_id": machine_id, "call_type": "DT"}, headers=operator
    )
    assert call.status_code == 201, call.text
    call_id = call.json()["id"]
    for step, at in (("claim", 45), ("respond", 50), ("close", 55)):
        clock.advance(minutes(at) - clock.now())
        answer = api.post(f"/api/v1/calls/{call_id}/{step}", json={}, headers=operator)
        assert answer.status_code == 200, answer.text

    clock.advance(minutes(120) - clock.now())
    batch = {
        "items": [{"machine_id": machine_id, "good": 150, "scrap": 6, "client_ref": "press7-2"}]
    }
    assert (
        api.post("/api/v1/production/cycles", json=batch, headers=operator).json()["created"] == 1
    )
    assert (
        api.post("/api/v1/production/cycles", json=batch, headers=operator).json()["duplicates"]
        == 1
    )
    stopped = api.post(
        "/api/v1/production/run-stop", json={"machine_id": machine_id}, headers=operator
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["downtime_s"] == 15 * 60
    assert (stopped.json()["good_count"], stopped.json()["scrap_count"]) == (200, 8)

    params = {"machine_id": machine_id, "from": T0.isoformat(), "to": minutes(120).isoformat()}
    snap = api.get("/api/v1/production/oee-snapshot", params=params, headers=headers(Role.viewer))
    assert snap.status_code == 200, snap.text
    data = snap.json()

    # By hand: the machine works no shift schedule, so the whole 120 min window is planned.
    planned = 120 * 60  # 7200 s
    run_time = planned - 15 * 60  # the andon call stopped the machine 15 min: 6300 s
    total, good, ideal = 208, 200, 30
    availability = 6300 / 7200  # 0.875
    performance = ideal * total / run_time  # 6240 / 6300 = 0.990476
    quality = good / total  # 0.961538
    assert data["inputs"]["planned_time_s"] == planned
    assert data["inputs"]["unplanned_downtime_s"] == 900
    assert data["inputs"]["run_time_s"] == run_time
    assert (data["inputs"]["total_count"], data["inputs"]["good_count"]) == (total, good)
    assert data["inputs"]["ideal_cycle_time_s"] == ideal
    assert data["availability"] == pytest.approx(availability)
    assert data["performance"] == pytest.approx(performance)
    assert data["quality"] == pytest.approx(quality)
    assert data["oee"] == pytest.approx(availability * performance * quality)
    assert data["oee"] == pytest.approx(ideal * good / planned)  # 0.8333
    assert [f["code"] for f in data["flags"]] == ["no_shift_schedule"]
