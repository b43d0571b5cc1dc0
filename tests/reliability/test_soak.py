"""Fault soak: the real ``plantsync serve`` (API, scheduler and executor in one process, on
SQLite) runs scheduled syncs of several connections against sandbox ERPs that answer 10% of
requests with 5xx (writes applied before their answer is lost), cut GET answers mid-body, throw
429 bursts with Retry-After and add latency. Meanwhile the plant keeps changing.

Afterwards, with the faults off and a last round of runs: the plant's machines equal each
ERP's, every local work order exists exactly once in its ERP (no duplicates from lost
answers), and no run is left ``in_progress``.

Sizes: ``PLANTSYNC_SOAK_RUNS`` finished scheduled runs (short in ``make test``, a few hundred
in ``make soak``), bounded by ``PLANTSYNC_SOAK_SECONDS``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from sqlmodel import col, func, select

from plantsync.core.models.integration import LinkState, SyncLog, SyncStatus, SyncTrigger
from plantsync.core.models.maintenance import WorkOrder
from plantsync.entities import EntityType
from tests.integration.connectors.conftest import SandboxHandle
from tests.integration.sync.conftest import Hub
from tests.integration.sync.erp_edit import MachineEditor
from tests.integration.sync.helpers import ensure_site, linked_machines, links_of, make_work_orders
from tests.integration.sync.test_inbound import plant_machines
from tests.integration.sync.test_outbound import erp_rows
from tests.reliability.processes import ServeProcess, SoakWorld, wait_for

SOAK_RUNS = int(os.environ.get("PLANTSYNC_SOAK_RUNS", "15"))
SOAK_SECONDS = float(os.environ.get("PLANTSYNC_SOAK_SECONDS", "150"))
PROVIDERS = ("sap", "dynamics", "oracle")
FAULTS: dict[str, Any] = {
    "error_rate": 0.1,
    "after_commit": True,
    "drop_rate": 0.05,
    "throttle": {"burst": 3, "every": 40, "retry_after": 0.05},
    "latency_ms": 5,
    "seed": 3,
}
ORDERS_PER_ROUND = 4


def finished_scheduled_runs(world: SoakWorld) -> int:
    with world.db.read_session() as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(SyncLog)
                .where(
                    SyncLog.trigger == SyncTrigger.schedule,
                    col(SyncLog.status).in_(
                        [SyncStatus.success, SyncStatus.failed, SyncStatus.skipped]
                    ),
                )
            ).one()
        )


def _orders_of(hub: Hub) -> list[uuid.UUID]:
    with hub.db.read_session() as s:
        return list(s.exec(select(WorkOrder.id).where(WorkOrder.tenant_id == hub.tenant.id)).all())


def _all_linked(hub: Hub, conn_id: uuid.UUID) -> bool:
    links = links_of(hub.db, conn_id, EntityType.work_order)
    return len(links) == len(_orders_of(hub)) and all(x.state == LinkState.linked for x in links)


def test_scheduled_runs_under_faults_converge(soak_world: SoakWorld, erp: SandboxHandle) -> None:
    world = soak_world
    pairs = [("inbound", "machine"), ("outbound", "work_order")]
    conns = {p: world.hubs[p].connect(p, **world.connection_fields(pairs)) for p in PROVIDERS}
    before = {p: len(erp_rows(world.hubs[p], c, EntityType.work_order)) for p, c in conns.items()}
    erp.set_faults(**FAULTS)
    with ServeProcess(world) as serve:
        for p, conn in conns.items():  # the first inbound runs bring the machines in
            wait_for(lambda p=p, conn=conn: linked_machines(world.db, conn.id, 1), 120, serve)
            ensure_site(world.db, world.hubs[p].tenant.id)
        while finished_scheduled_runs(world) < SOAK_RUNS and not serve.timed_out(SOAK_SECONDS):
            for p, conn in conns.items():  # the plant keeps working: new orders every round
                hub = world.hubs[p]
                site = ensure_site(world.db, hub.tenant.id)
                make_work_orders(world.db, hub.tenant.id, linked_machines(world.db, conn.id, 10),
                                 ORDERS_PER_ROUND, site=site)  # fmt: skip
            serve.pause(2.0)
        runs_done = finished_scheduled_runs(world)
        erp.set_faults()
        # A quiet spell: the scheduler's next runs reconcile what the faults left open. At the
        # moment everything is linked, no run may be in progress (none stuck).
        wait_for(lambda: _converged(world, conns), 180, serve)
    assert runs_done >= min(SOAK_RUNS, 6), f"only {runs_done} scheduled runs finished"
    for p, conn in conns.items():
        hub = world.hubs[p]
        assert plant_machines(hub, conn) == MachineEditor(erp, p).expected(), p
        orders = _orders_of(hub)
        links = links_of(world.db, conn.id, EntityType.work_order)
        after = erp_rows(hub, conn, EntityType.work_order)
        assert len(after) - before[p] == len(orders), f"{p}: duplicates or losses in the ERP"
        assert len({x.erp_key for x in links}) == len(orders), p


def _converged(world: SoakWorld, conns: dict[str, Any]) -> bool:
    linked = all(_all_linked(world.hubs[p], c.id) for p, c in conns.items())
    return linked and not in_progress(world)


def in_progress(world: SoakWorld) -> list[SyncLog]:
    with world.db.read_session() as s:
        return list(s.exec(select(SyncLog).where(SyncLog.status == SyncStatus.in_progress)).all())
