"""The admin CLI: connections, sync (queued and --wait, exit codes), logs, mappings fields."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.integration import SyncLog, SyncStatus
from plantsync.core.sync import executor, runs
from plantsync.core.sync.executor import ENGINE_MISSING
from tests.conftest import CliResult

SECRET = "cli-secret-pw-123"
AUTH = json.dumps({"username": "plantsync_integration", "password": SECRET})
# Nothing listens on the discard port: a run that does reach the network fails fast, locally.
URL = "https://127.0.0.1:9"


def ok(result: CliResult, code: int = 0) -> CliResult:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert SECRET not in result.stdout + result.stderr
    return result


@pytest.fixture
def created(cli: Any, db: Database, tenant: Tenant, tmp_path: Path) -> dict[str, Any]:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(AUTH)
    result = ok(cli("connections", "create", "--name", "SAP Production", "--provider", "sap",
                    "--base-url", URL, "--interval", "60", "--mapping", "work_order_id=AUFNR",
                    "--mapping", "machine_id=EQUNR", "--entities", "outbound:work_order,inbound:machine",
                    "--auth-config-file", str(auth_file), "--json"))  # fmt: skip
    return dict(json.loads(result.stdout))


def test_create_show_list_update_delete(
    cli: Any, created: dict[str, Any], monkeypatch: Any
) -> None:
    assert created["auth_config_keys"] == ["password", "username"]
    assert created["field_mappings"] == {"work_order_id": "AUFNR", "machine_id": "EQUNR"}
    assert [e["entity_type"] for e in created["sync_entities"]] == ["work_order", "machine"]
    shown = json.loads(ok(cli("connections", "show", "SAP Production", "--json")).stdout)
    assert shown["id"] == created["id"]
    listed = json.loads(ok(cli("connections", "list", "--json")).stdout)
    assert [c["name"] for c in listed] == ["SAP Production"]
    ok(cli("connections", "list"))
    # stdin and an environment variable as the credential source
    ok(cli("connections", "create", "--name", "ora", "--provider", "oracle", "--base-url", URL,
           "--interval", "30", "--auth-config-file", "-", input=AUTH))  # fmt: skip
    monkeypatch.setenv(
        "DYN_AUTH", json.dumps({"tenant_id": "t", "client_id": "c", "client_secret": SECRET})
    )
    ok(cli("connections", "create", "--name", "dyn", "--provider", "dynamics", "--base-url", URL,
           "--interval", "30", "--auth-config-env", "DYN_AUTH", "--insecure"))  # fmt: skip
    updated = json.loads(ok(cli("connections", "update", created["id"], "--interval", "15",
                                "--mapping", "machine_id=", "--mapping", "work_order.@resource=ZPM_SRV/Orders",
                                "--json")).stdout)  # fmt: skip
    assert updated["sync_interval_minutes"] == 15
    assert updated["field_mappings"] == {
        "work_order_id": "AUFNR",
        "work_order.@resource": "ZPM_SRV/Orders",
    }
    ok(cli("connections", "delete", "ora"))
    assert ok(cli("connections", "show", "ora"), 2).stderr


def test_bad_input_exits_2_naming_the_field(
    cli: Any, created: dict[str, Any], tmp_path: Path
) -> None:
    auth_file = tmp_path / "a.json"
    auth_file.write_text(json.dumps({"username": "u"}))
    base = ["connections", "create", "--name", "x", "--provider", "sap", "--base-url", URL]
    res = ok(cli(*base, "--interval", "60", "--auth-config-file", str(auth_file)), 2)
    assert "auth_config.password" in res.stderr
    res = ok(cli(*base, "--interval", "2", "--auth-config-file", str(auth_file)), 2)
    assert "sync_interval_minutes" in res.stderr
    res = ok(cli(*base, "--interval", "60"), 2)  # no credentials and no terminal to prompt on
    assert "--auth-config-file" in res.stderr
    res = ok(cli("connections", "update", "SAP Production", "--provider", "oracle"), 2)
    assert "provider" in res.stderr
    res = ok(cli("connections", "update", "SAP Production", "--mapping", "nope=X"), 2)
    assert "field_mappings.nope" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(f"password: [{SECRET}")
    ok(cli(*base, "--interval", "60", "--auth-config-file", str(bad)), 2)


def test_sync_queues_then_wait_runs_here(cli: Any, created: dict[str, Any], db: Database) -> None:
    queued = ok(cli("sync", "SAP Production", "--direction", "inbound", "--entity", "machine"))
    log_id = uuid.UUID(queued.stdout.strip())
    with db.read_session() as s:
        log = s.get(SyncLog, log_id)
        assert log is not None and log.status == SyncStatus.pending
    again = ok(cli("sync", created["id"], "--direction", "inbound", "--entity", "machine"))
    assert again.stdout.strip() == str(log_id) and "already pending" in again.stderr
    ok(cli("sync", "SAP Production", "--direction", "inbound", "--entity", "downtime"), 2)
    waited = cli(
        "sync",
        "SAP Production",
        "--direction",
        "inbound",
        "--entity",
        "machine",
        "--wait",
        "--json",
    )
    body = json.loads(waited.stdout)
    assert body["id"] == str(log_id) and body["status"] == "failed"
    assert waited.exit_code == 1
    if executor.load_runner() is None:
        assert body["message"] == ENGINE_MISSING
    shown = json.loads(ok(cli("logs", "show", str(log_id), "--json")).stdout)
    assert shown == body
    page = json.loads(
        ok(cli("logs", "--status", "failed", "--connection", "SAP Production", "--json")).stdout
    )
    assert [i["id"] for i in page["items"]] == [str(log_id)]
    ok(cli("logs", "--limit", "5"))
    assert json.loads(ok(cli("logs", "prune", "--json")).stdout)["deleted"] == 0


@pytest.mark.parametrize(("status", "code"), [("success", 0), ("skipped", 3), ("failed", 1)])
def test_sync_wait_exit_codes(
    cli: Any, created: dict[str, Any], monkeypatch: pytest.MonkeyPatch, status: str, code: int
) -> None:
    def runner(log_id: uuid.UUID) -> None:
        from plantsync.core.sync import current_database

        with current_database().session(write=True) as s:
            runs.finish(log_id, SyncStatus(status), runs.RunCounts(read=2, written=2), f"{status} here",
                        session=s)  # fmt: skip

    monkeypatch.setattr(executor, "load_runner", lambda: runner)
    result = ok(
        cli(
            "sync", "SAP Production", "--direction", "outbound", "--entity", "work_order", "--wait"
        ),
        code,
    )
    assert f"{status} here" in result.stdout and status in result.stderr


def test_mappings_fields(cli: Any) -> None:
    rows = json.loads(ok(cli("mappings", "fields", "--json")).stdout)
    assert {"entity_type": "work_order", "field": "work_order_id"} in [
        {k: r[k] for k in ("entity_type", "field")} for r in rows
    ]
    machine = json.loads(ok(cli("mappings", "fields", "--entity", "machine", "--json")).stdout)
    assert {r["entity_type"] for r in machine} == {"machine"}
