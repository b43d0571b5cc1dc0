"""``plantsync demo-data`` and ``plantsync oee`` as a new user runs them."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import func, select

from plantsync.core.db import Database
from plantsync.core.models import Machine, ProductionRun, Tenant
from plantsync.core.models.production import RunStatus


def test_demo_data_fills_an_empty_install_once_and_oee_reads_it(cli: Any, settings: Any) -> None:
    created = cli("demo-data", "--if-empty")
    assert created.exit_code == 0, created.stderr
    assert "Demo plant created in tenant demo" in created.stderr
    again = cli("demo-data", "--if-empty")
    assert again.exit_code == 0 and "no demo data added" in again.stderr
    refused = cli("demo-data")
    assert refused.exit_code == 2 and "already has machines" in refused.stderr

    db = Database(settings.effective_database_url)
    try:
        with db.read_session() as s:
            assert s.exec(select(Tenant.name)).all() == ["demo"]
            assert s.exec(select(func.count()).select_from(Machine)).one() == 20
            open_runs = s.exec(
                select(ProductionRun).where(ProductionRun.status == RunStatus.running)
            ).all()
            closed = s.exec(
                select(ProductionRun).where(ProductionRun.status == RunStatus.closed)
            ).all()
            assert closed and all(r.run_time_s and r.good_count > 0 for r in closed)
            assert len({r.machine_id for r in open_runs}) == len(open_runs)
    finally:
        db.dispose()

    result = cli("oee", "OVEN-01", "--json")  # the 24/7 oven always has planned time
    assert result.exit_code == 0, result.stderr
    snap = json.loads(result.stdout)
    assert 0 < snap["availability"] <= 1 and 0 < snap["quality"] <= 1
    assert snap["inputs"]["shift_schedule"] is True
    assert snap["inputs"]["total_count"] > 0
    table = cli("oee", "PRESS-01", "--from", "2020-01-05", "--to", "2020-01-06")  # a Sunday
    assert table.exit_code == 0, table.stderr
    assert "availability" in table.stdout and "no_planned_time" in table.stderr
    missing = cli("oee", "NOPE-99")
    assert missing.exit_code == 2 and "not found" in missing.stderr
    bad = cli("oee", "PRESS-01", "--from", "yesterday")
    assert bad.exit_code == 2 and "from" in bad.stderr


def test_demo_data_into_a_named_tenant(cli: Any) -> None:
    assert cli("demo-data", "--tenant", "acme").exit_code == 0
    assert cli("demo-data", "--tenant", "other").exit_code == 0
    # Two tenants now: naming one is required.
    assert cli("oee", "PRESS-01").exit_code == 2
    assert cli("oee", "PRESS-01", "--tenant", "other", "--json").exit_code == 0
