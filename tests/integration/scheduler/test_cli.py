"""`plantsync scheduler status` and the scale-out commands' refusals, in-process."""

from __future__ import annotations

import json

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from tests.conftest import CliRunner
from tests.integration.scheduler.helpers import connect


def test_scheduler_status_lists_each_connection_and_entity(
    cli: CliRunner, db: Database, settings: Settings, tenant: Tenant
) -> None:
    conn = connect(db, settings, tenant.id, entities=[
        {"direction": "inbound", "entity_type": "machine"},
        {"direction": "outbound", "entity_type": "downtime"},
    ])  # fmt: skip
    result = cli("scheduler", "status", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = [r for r in data["items"] if r["connection_id"] == str(conn.id)]
    assert {(r["direction"], r["entity_type"]) for r in rows} == {
        ("inbound", "machine"), ("outbound", "downtime"),
    }  # fmt: skip
    assert all(r["last_status"] is None and r["next_sync_at"] and r["fire_at"] for r in rows)
    assert data["hub"]["executor"] == "embedded"
    table = cli("scheduler", "status", "--tenant", tenant.name)
    assert table.exit_code == 0 and "executor: embedded" in table.stderr  # table: terminal-wide


def test_scale_out_commands_need_postgresql_and_the_queue(
    cli: CliRunner, settings: Settings
) -> None:
    for command in ("scheduler", "worker"):
        result = cli(command)
        assert result.exit_code == 1
        expected = "PostgreSQL" if settings.is_sqlite else "PLANTSYNC_EXECUTOR=queue"
        assert expected in result.stderr
