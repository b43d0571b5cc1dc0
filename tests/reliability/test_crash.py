"""Crash safety with real processes (``make crash``; skipped in ``make test``): SIGKILL of
``plantsync serve`` (embedded, SQLite), and of a ``plantsync worker`` and of the
``plantsync scheduler`` (scale-out, PostgreSQL), at random moments while scheduled syncs
run. Each victim is restarted; the plant keeps changing. Afterwards: every local work order
exists exactly once in its ERP (nothing lost, nothing duplicated), the plant's machines equal
the ERP's, and every log reached a final status (the dead processes' runs are found by their
expired leases).

``PLANTSYNC_CRASH_ROUNDS`` kills per test (default 6); the random moments come from
``PLANTSYNC_CRASH_SEED`` (printed, so a failure can be replayed).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from plantsync.core.models.integration import SyncLog, SyncStatus
from plantsync.entities import EntityType
from tests.conftest import require_postgres
from tests.integration.connectors.conftest import SandboxHandle
from tests.integration.sync.erp_edit import MachineEditor
from tests.integration.sync.helpers import ensure_site, linked_machines, links_of, make_work_orders
from tests.integration.sync.test_inbound import plant_machines
from tests.integration.sync.test_outbound import erp_rows
from tests.reliability.processes import Proc, ServeProcess, SoakWorld, wait_for
from tests.reliability.test_soak import _converged, _orders_of, in_progress

pytestmark = pytest.mark.skipif(
    os.environ.get("PLANTSYNC_CRASH") != "1", reason="long: run with `make crash`"
)
ROUNDS = int(os.environ.get("PLANTSYNC_CRASH_ROUNDS", "6"))
SEED = int(os.environ.get("PLANTSYNC_CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
PROVIDERS = ("sap", "dynamics", "oracle")
PAIRS = [("inbound", "machine"), ("outbound", "work_order")]
FAULTS: dict[str, Any] = {"latency_ms": 20}  # runs last long enough to be killed mid-way


def _check(
    world: SoakWorld, erp: SandboxHandle, conns: dict[str, Any], before: dict[str, int]
) -> None:
    for p, conn in conns.items():
        hub = world.hubs[p]
        orders = _orders_of(hub)
        after = erp_rows(hub, conn, EntityType.work_order)
        assert len(after) - before[p] == len(orders), f"{p}: lost or duplicated work orders"
        links = links_of(world.db, conn.id, EntityType.work_order)
        assert len({x.erp_key for x in links}) == len(orders), p
        assert plant_machines(hub, conn) == MachineEditor(erp, p).expected(), p


def _abandoned(world: SoakWorld) -> list[SyncLog]:
    """Runs closed ``failed`` because their process died (found by the expired lease)."""
    with world.db.read_session() as s:
        rows = s.exec(select(SyncLog).where(SyncLog.status == SyncStatus.failed)).all()
    return [x for x in rows if "stopped renewing its lease" in (x.message or "")]


def _crash_loop(
    world: SoakWorld,
    conns: dict[str, Any],
    victims: dict[str, Callable[[], Proc]],
    running: dict[str, Proc],
) -> None:
    """ROUNDS times: new plant work, wait for a run in progress, SIGKILL a random victim at a
    random moment, start it again."""
    rnd = random.Random(SEED)
    print(f"crash seed {SEED}")
    for _ in range(ROUNDS):
        for p, conn in conns.items():
            hub = world.hubs[p]
            site = ensure_site(world.db, hub.tenant.id)
            machines = linked_machines(world.db, conn.id, 10)
            if machines:
                make_work_orders(world.db, hub.tenant.id, machines, 6, site=site)
        wait_for(lambda: in_progress(world), 60)
        time.sleep(rnd.uniform(0.0, 1.5))  # a random point inside the run
        name = rnd.choice(sorted(victims))
        running[name].kill()
        running[name] = victims[name]()


def _run_crash_test(
    world: SoakWorld, erp: SandboxHandle, victims: dict[str, Callable[[], Proc]]
) -> None:
    conns = {p: world.hubs[p].connect(p, **world.connection_fields(PAIRS)) for p in PROVIDERS}
    before = {p: len(erp_rows(world.hubs[p], c, EntityType.work_order)) for p, c in conns.items()}
    erp.set_faults(**FAULTS)
    running = {name: start() for name, start in victims.items()}
    try:
        for conn in conns.values():
            wait_for(lambda conn=conn: linked_machines(world.db, conn.id, 1), 180)
        _crash_loop(world, conns, victims, running)
        erp.set_faults()
        # Converged: every order linked once and, at that moment, no run in progress — so
        # every run the kills interrupted has reached a final status.
        wait_for(lambda: _converged(world, conns), 240)
        _check(world, erp, conns, before)
    finally:
        for proc in running.values():
            proc.stop()
    assert _abandoned(world), "no kill hit a run in progress (raise PLANTSYNC_CRASH_ROUNDS)"


def test_kill_9_of_serve_loses_and_duplicates_nothing(
    soak_world: SoakWorld, erp: SandboxHandle
) -> None:
    _run_crash_test(soak_world, erp, {"serve": lambda: ServeProcess(soak_world)})


@pytest.fixture
def pg_world(tmp_path: Path, erp: SandboxHandle, pg_schema_url: str) -> Iterator[SoakWorld]:
    require_postgres()
    world = SoakWorld(tmp_path, pg_schema_url, erp, PROVIDERS)
    world.env["PLANTSYNC_EXECUTOR"] = "queue"
    yield world
    world.close()


def test_kill_9_of_worker_and_scheduler_loses_and_duplicates_nothing(
    pg_world: SoakWorld, erp: SandboxHandle
) -> None:
    world = pg_world
    victims: dict[str, Callable[[], Proc]] = {
        "scheduler": lambda: Proc(world, "scheduler"),
        "worker-1": lambda: Proc(world, "worker"),
        "worker-2": lambda: Proc(world, "worker"),
    }
    _run_crash_test(world, erp, victims)
