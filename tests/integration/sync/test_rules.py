"""The run rules against each sandbox ERP over HTTPS, on SQLite and PostgreSQL.

Done-when 3 (faults -> same final state, no duplicates), 5 (a bad record fails alone, with a
readable error), 6 (two concurrent triggers -> one run, the same log) and 7 (no echo of
inbound work orders; a new connection pushes nothing older than ``outbound_start_from``).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from plantsync.core.models.integration import (
    ExternalLink,
    LinkState,
    SyncLog,
    SyncStatus,
    SyncTrigger,
)
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine
from plantsync.core.services.changes import stamp_change
from plantsync.core.services.sync_logs import get_log_detail
from plantsync.entities import Direction, EntityType
from tests.conftest import CliRunner
from tests.integration.sync.conftest import PROVIDERS, RECORDS, Hub
from tests.integration.sync.erp_edit import MachineEditor
from tests.integration.sync.helpers import (
    USER,
    ensure_site,
    linked_machines,
    links_of,
    make_work_orders,
    touch,
)
from tests.integration.sync.test_inbound import plant_machines
from tests.integration.sync.test_outbound import erp_rows, writes

FAULTS = {
    "error_rate": 0.1,
    "drop_rate": 0.1,
    "throttle": {"burst": 3, "every": 40, "retry_after": 0.05},
    "seed": 3,
}


def until_success(hub: Hub, conn: object, direction: Direction, entity: EntityType) -> SyncLog:
    """Runs again while a run fails for an unavailable ERP (at most 6 runs)."""
    for _ in range(6):
        log = hub.sync(conn, direction, entity)  # type: ignore[arg-type]
        if log.status == SyncStatus.success:
            return log
        assert log.status == SyncStatus.failed and "unavailable" in (log.message or ""), log.message
    raise AssertionError(f"no success after 6 runs: {log.message}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_faults_converge_without_duplicates(hub: Hub, provider: str) -> None:
    conn = hub.connect(provider, outbound_start_from="2020-01-01T00:00:00Z")
    hub.erp.set_faults(**FAULTS)
    until_success(hub, conn, Direction.inbound, EntityType.machine)
    hub.erp.set_faults()
    assert plant_machines(hub, conn) == MachineEditor(hub.erp, provider).expected()

    site = ensure_site(hub.db, hub.tenant.id)
    machines = linked_machines(hub.db, conn.id, 10)
    orders = make_work_orders(hub.db, hub.tenant.id, machines, RECORDS, site=site)
    before = erp_rows(hub, conn, EntityType.work_order)
    # Writes also lose their answers after the ERP applied them: never re-created blindly.
    hub.erp.set_faults(**FAULTS, after_commit=True)
    until_success(hub, conn, Direction.outbound, EntityType.work_order)
    hub.erp.set_faults()
    for _ in range(3):  # records whose answer was lost are reconciled by the next runs
        if all(
            x.state == LinkState.linked for x in links_of(hub.db, conn.id, EntityType.work_order)
        ):
            break
        hub.sync(conn, Direction.outbound, EntityType.work_order)
    after = erp_rows(hub, conn, EntityType.work_order)
    links = links_of(hub.db, conn.id, EntityType.work_order)
    assert len(after) - len(before) == len(orders)  # each order exactly once in the ERP
    assert {x.state for x in links} == {LinkState.linked}
    assert len({x.erp_key for x in links}) == len(orders)


def _bad_work_order(
    hub: Hub, provider: str, conn_id: uuid.UUID, good: list[uuid.UUID]
) -> uuid.UUID:
    with hub.db.write_session() as s:
        wo = s.get(WorkOrder, good[0])
        assert wo is not None
        if provider == "dynamics":  # a machine the ERP does not know
            machine = Machine(
                tenant_id=hub.tenant.id, code=f"GHOST-{uuid.uuid4().hex[:6]}", name="Ghost"
            )
            stamp_change(s, machine, USER)
            s.flush()
            s.add(ExternalLink(tenant_id=hub.tenant.id, connection_id=conn_id,
                               entity_type=EntityType.machine, local_id=machine.id,
                               erp_key=str(uuid.uuid4())))  # fmt: skip
            wo.machine_id = machine.id
        else:  # longer than the ERP's field
            wo.description = "Bearing noise " * 60
        stamp_change(s, wo, USER)
        return wo.id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_record_fails_alone(hub: Hub, provider: str) -> None:
    conn = hub.connect(provider, outbound_start_from="2020-01-01T00:00:00Z")
    hub.sync(conn, Direction.inbound, EntityType.machine)
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, conn.id, 5), 8, site=site
    )
    bad = _bad_work_order(hub, provider, conn.id, orders)

    log = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert log.status == SyncStatus.partial, log.message  # some failed, the others written
    assert (log.records_written, log.records_failed) == (len(orders) - 1, 1)
    with hub.db.read_session() as s:
        detail = get_log_detail(session=s, tenant_id=hub.tenant.id, log_id=log.id)
    assert detail.errors_total == 1
    (error,) = detail.errors
    assert error.local_id == str(bad)
    assert error.message and "Traceback" not in error.message
    assert any(w in error.message.lower() for w in ("long", "exist", "length", "characters")), (
        error.message
    )

    # It is not re-sent until it changes (or a retry run asks for it) ...
    assert hub.sync(conn, Direction.outbound, EntityType.work_order).status == SyncStatus.skipped
    # ... and a retry run tries it again, alone.
    retry = hub.sync(conn, Direction.outbound, EntityType.work_order, trigger=SyncTrigger.retry)
    assert (retry.records_written, retry.records_failed) == (0, 1)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_concurrent_triggers_get_one_run(hub: Hub, provider: str) -> None:
    conn = hub.connect(provider)
    barrier = threading.Barrier(2)
    results: list[tuple[SyncLog, bool]] = []
    lock = threading.Lock()

    def trigger() -> None:
        barrier.wait()
        got = hub.request(conn, Direction.inbound, EntityType.machine)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created for _, created in results) == [False, True]
    assert len({log.id for log, _ in results}) == 1
    final = hub.run_log(results[0][0].id)
    assert final.status == SyncStatus.success
    with hub.db.read_session() as s:
        assert len(s.exec(select(SyncLog).where(SyncLog.connection_id == conn.id)).all()) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_echo_and_start_from(hub: Hub, provider: str) -> None:
    early = hub.connect(provider, outbound_start_from="2020-01-01T00:00:00Z")
    assert hub.sync(early, Direction.inbound, EntityType.machine).status == SyncStatus.success
    pulled = hub.sync(early, Direction.inbound, EntityType.work_order)
    assert pulled.status == SyncStatus.success and pulled.records_written > 0, pulled.message

    hub.erp.clear_requests()
    echo = hub.sync(early, Direction.outbound, EntityType.work_order)
    assert echo.status == SyncStatus.skipped, echo.message
    assert writes(hub, provider) == 0

    # A connection made now pushes nothing older than its outbound_start_from ...
    site = ensure_site(hub.db, hub.tenant.id)
    old = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, early.id, 3), 5, site=site
    )
    fresh = hub.connect(provider)
    assert fresh.outbound_start_from <= datetime.now(UTC)
    hub.erp.clear_requests()
    assert hub.sync(fresh, Direction.outbound, EntityType.work_order).status == SyncStatus.skipped
    assert writes(hub, provider) == 0
    # ... and what changes afterwards is sent.
    assert hub.sync(fresh, Direction.inbound, EntityType.machine).status == SyncStatus.success
    touch(hub.db, WorkOrder, old[:2], description="Changed after the connection was made")
    sent = hub.sync(fresh, Direction.outbound, EntityType.work_order)
    assert sent.status == SyncStatus.success, sent.message
    assert sent.records_written == 2


def test_entity_id_syncs_exactly_that_record(hub: Hub) -> None:
    conn = hub.connect("oracle", outbound_start_from="2020-01-01T00:00:00Z")
    hub.sync(conn, Direction.inbound, EntityType.machine)
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, conn.id, 3), 5, site=site
    )
    one = hub.sync(conn, Direction.outbound, EntityType.work_order, entity_id=str(orders[2]))
    assert (one.status, one.records_written) == (SyncStatus.success, 1), one.message
    assert [x.local_id for x in links_of(hub.db, conn.id, EntityType.work_order)] == [orders[2]]
    rest = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert rest.records_written == 4  # the single-record run did not move the mark

    key = MachineEditor(hub.erp, "oracle").keys()[0]
    inbound = hub.sync(conn, Direction.inbound, EntityType.machine, entity_id=str(key))
    assert inbound.status == SyncStatus.success and inbound.records_read == 1


def test_run_status_says_whether_records_failed(hub: Hub, cli: CliRunner) -> None:
    """success: none failed; partial: some failed, the others written (``sync --wait`` exits
    4); failed: every record it tried failed (exit 1)."""
    conn = hub.connect("oracle", outbound_start_from="2020-01-01T00:00:00Z")
    hub.sync(conn, Direction.inbound, EntityType.machine)
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, conn.id, 3), 4, site=site
    )
    bad = _bad_work_order(hub, "oracle", conn.id, orders)
    args = ("sync", conn.name, "--direction", "outbound", "--entity", "work_order", "--wait")

    partial = cli(*args, "--json")
    body = json.loads(partial.stdout)
    assert partial.exit_code == 4 and body["status"] == "partial", partial.stderr
    assert (body["records_written"], body["records_failed"]) == (len(orders) - 1, 1)
    listed = json.loads(cli("logs", "--status", "partial", "--json").stdout)
    assert [i["id"] for i in listed["items"]] == [body["id"]]

    retried = cli("logs", "retry", body["id"], "--wait", "--json")
    again = json.loads(retried.stdout)
    assert retried.exit_code == 1 and again["status"] == "failed"  # its only record failed again
    assert again["trigger"] == "retry" and again["retry_of"] == body["id"]
    assert (again["records_written"], again["records_failed"]) == (0, 1)
    with hub.db.write_session() as s:  # the ERP-refused record is fixed
        wo = s.get(WorkOrder, bad)
        assert wo is not None
        wo.description = "Fixed"
        stamp_change(s, wo, USER)
    fixed = cli(*args)
    assert fixed.exit_code == 0, fixed.stdout + fixed.stderr
