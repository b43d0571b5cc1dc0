"""``plantsync machines|work-orders|downtime`` on the database directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plantsync.core.db import Database
from plantsync.core.models.downtime import DowntimeCreate
from plantsync.core.models.maintenance import LaborCreate, WorkOrderCreate
from plantsync.core.services import downtime, work_order_costs, work_orders
from plantsync.core.services.changes import ChangeOrigin
from tests.factories import create_tenant

SYSTEM = ChangeOrigin.system()


def test_machines_import_list_show(cli: Any, db: Database, tmp_path: Path) -> None:
    create_tenant(db, "acme")
    good = tmp_path / "machines.csv"
    good.write_text(
        "code,name,type,ideal_cycle_time_s,is_active\nP1,Press 1,press,2.5,true\nL1,Lathe,,,\n"
    )
    result = cli("machines", "import", str(good))
    assert result.exit_code == 0, result.stderr
    assert "2 created" in result.stderr
    listed = json.loads(cli("machines", "list", "--json").stdout)
    assert [m["code"] for m in listed["items"]] == ["L1", "P1"]
    assert listed["items"][1]["ideal_cycle_time_s"] == 2.5
    table = cli("machines", "list")
    assert "Press 1" in table.stdout
    shown = json.loads(cli("machines", "show", "P1", "--json").stdout)
    assert shown["type"] == "press"
    assert cli("machines", "show", shown["id"]).exit_code == 0
    assert cli("machines", "show", "NOPE").exit_code == 2

    bad = tmp_path / "machines.json"
    bad.write_text(
        json.dumps(
            [{"code": "P1", "name": "Press one"}, {"code": "X"}, {"code": "bad code", "name": "y"}]
        )
    )
    result = cli("machines", "import", str(bad), "--json")
    assert result.exit_code == 1
    assert "item 2 (X): name" in result.stderr and "item 3" in result.stderr
    body = json.loads(result.stdout)
    assert (body["updated"], body["failed"]) == (1, 2)
    assert cli("machines", "import", str(tmp_path / "missing.csv")).exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    assert cli("machines", "import", str(broken)).exit_code == 2


def test_work_orders_and_downtime(cli: Any, db: Database, tmp_path: Path) -> None:
    tenant = create_tenant(db, "acme")
    other = create_tenant(db, "other")
    (tmp_path / "m.csv").write_text("code,name\nP1,Press\n")
    assert cli("machines", "import", str(tmp_path / "m.csv"), "--tenant", "acme").exit_code == 0
    with db.session(write=True) as s:
        wo = work_orders.create_work_order(
            session=s,
            tenant_id=tenant.id,
            data=WorkOrderCreate(number="WO-7", machine_code="P1"),
            origin=SYSTEM,
        )
        work_order_costs.add_labor(
            session=s, tenant_id=tenant.id, work_order_id=wo.id,
            data=LaborCreate(worker="Ann", hours=2, rate_minor=5000), origin=SYSTEM,
        )  # fmt: skip
        downtime.create_downtime(
            session=s, tenant_id=tenant.id,
            data=DowntimeCreate.model_validate({"machine_code": "P1", "started_at": "2026-01-01T00:00:00Z", "reason_code": "JAM"}),
            origin=SYSTEM,
        )  # fmt: skip
    listed = json.loads(cli("work-orders", "list", "--tenant", "acme", "--json").stdout)
    assert listed["items"][0]["total_cost_minor"] == 10000
    assert "100.00" in cli("work-orders", "list", "--tenant", "acme").stdout
    shown = json.loads(cli("work-orders", "show", "WO-7", "--tenant", "acme", "--json").stdout)
    assert shown["labor"][0]["worker"] == "Ann"
    assert cli("work-orders", "show", "WO-7", "--tenant", "other").exit_code == 2
    events = json.loads(
        cli("downtime", "list", "--tenant", "acme", "--machine", "P1", "--json").stdout
    )
    assert events["items"][0]["reason_code"] == "JAM"
    assert (
        json.loads(cli("downtime", "list", "--tenant", str(other.id), "--json").stdout)["items"]
        == []
    )
    assert "JAM" in cli("downtime", "list", "--tenant", "acme", "--open").stdout
    assert cli("downtime", "list", "--tenant", "acme", "--from", "yesterday").exit_code == 2
