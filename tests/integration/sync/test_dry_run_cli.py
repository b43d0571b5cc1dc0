"""``dry_run`` and the CLI faces: ``plantsync sync ... --dry-run`` and ``mappings show``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from plantsync.core.models.integration import ExternalLink, SyncLog, SyncStatus
from plantsync.core.models.plant import Machine
from plantsync.core.services import changes
from plantsync.core.services.changes import stamp_change
from plantsync.core.sync.engine import bind_connector_factory, dry_run
from plantsync.entities import Direction, EntityType
from tests.conftest import CliRunner
from tests.integration.sync.conftest import MACHINES, Hub, fast_factory
from tests.integration.sync.helpers import USER, ensure_site, linked_machines, make_work_orders
from tests.integration.sync.test_outbound import writes


def test_dry_run_inbound_changes_nothing(hub: Hub) -> None:
    conn = hub.connect("oracle")
    with bind_connector_factory(fast_factory):
        report = dry_run(database=hub.db, tenant_id=hub.tenant.id, connection=conn.name,
                         direction=Direction.inbound, entity_type=EntityType.machine,
                         settings=hub.settings)  # fmt: skip
    assert report.counts["create"] == MACHINES and report.counts["failed"] == 0
    assert {"code", "name"} <= set(report.items[0]["record"])
    with hub.db.read_session() as s:
        assert s.exec(select(Machine)).all() == []
        assert s.exec(select(ExternalLink)).all() == []


def test_dry_run_outbound_sends_nothing(hub: Hub) -> None:
    conn = hub.connect("sap", outbound_start_from="2020-01-01T00:00:00Z")
    assert hub.sync(conn, Direction.inbound, EntityType.machine).status == SyncStatus.success
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, conn.id, 3), 4, site=site
    )
    hub.erp.clear_requests()
    report = dry_run(database=hub.db, tenant_id=hub.tenant.id, connection=conn.id,
                     direction=Direction.outbound, entity_type=EntityType.work_order,
                     settings=hub.settings)  # fmt: skip
    assert report.counts == {"create": 4, "failed": 0}
    assert {i["local_id"] for i in report.items} == {str(o) for o in orders}
    payload = report.items[0]["payload"]
    assert payload["MaintenanceOrderType"] == "PM01" and "Equipment" in payload
    assert writes(hub, "sap") == 0
    with hub.db.read_session() as s:
        links = s.exec(
            select(ExternalLink).where(ExternalLink.entity_type == EntityType.work_order)
        )
        assert links.all() == []
    # The real run then sends exactly what the dry run showed.
    log = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert log.records_written == 4


def test_cli_dry_run_and_mappings_show(hub: Hub, cli: CliRunner) -> None:
    conn = hub.connect("sap", field_mappings={"work_order.description": "MaintOrderLongText"})
    shown = cli("mappings", "show", conn.name, "work_order", "--direction", "outbound", "--json")
    assert shown.exit_code == 0, shown.stderr
    body = json.loads(shown.stdout)
    fields = body["directions"]["outbound"]["fields"]
    assert fields["description"] == "MaintOrderLongText" and fields["machine_id"] == "Equipment"
    table = cli("mappings", "show", conn.name, "machine")
    assert table.exit_code == 0 and "API_EQUIPMENT/Equipment" in table.stdout
    assert cli("mappings", "show", conn.name, "downtime", "--direction", "inbound").exit_code == 1

    with bind_connector_factory(fast_factory):
        result = cli("sync", conn.name, "--direction", "inbound", "--entity", "machine",
                     "--dry-run", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"]["create"] == MACHINES
    with hub.db.read_session() as s:
        assert s.exec(select(SyncLog)).all() == []  # a dry run is not a run
        assert s.exec(select(Machine)).all() == []


def test_dry_run_waits_for_transactions_open_when_it_starts(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the change feed stops below the oldest open transaction of the cluster. An
    unrelated transaction (another process, another schema) open while the orders were written
    must not hide them from the preview: like a run, the dry run waits for it to end."""
    if hub.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the feed has no horizon")
    conn = hub.connect("sap", outbound_start_from="2020-01-01T00:00:00Z")
    other = hub.db.engine.connect()
    other_tx = other.begin()
    other.execute(text("SELECT pg_current_xact_id()"))  # holds the horizon back
    site = ensure_site(hub.db, hub.tenant.id)
    with hub.db.write_session() as s:
        machine = Machine(tenant_id=hub.tenant.id, code="M-1", name="M 1")
        stamp_change(s, machine, USER)
    make_work_orders(hub.db, hub.tenant.id, [machine.id], 3, site=site)
    waited: list[float] = []

    def pause(seconds: float) -> None:  # the dry run waits: the other transaction ends now
        waited.append(seconds)
        if other_tx.is_active:
            other_tx.commit()

    monkeypatch.setattr(changes.time, "sleep", pause)
    try:
        report = dry_run(database=hub.db, tenant_id=hub.tenant.id, connection=conn.id,
                         direction=Direction.outbound, entity_type=EntityType.work_order,
                         settings=hub.settings)  # fmt: skip
    finally:
        if other_tx.is_active:
            other_tx.rollback()
        other.close()
    assert waited
    assert report.counts == {"create": 3, "failed": 0}, report.notes
