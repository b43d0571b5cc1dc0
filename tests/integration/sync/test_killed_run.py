"""Done-when 4: a run killed mid-way — a real ``plantsync sync ... --wait`` process, SIGKILLed
while it pushes to a slow ERP — leaves no duplicates: the interrupted log does not stay
``in_progress`` (its lease expires and it is failed) and the next run converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from plantsync.core.clock import SYSTEM_CLOCK, FrozenClock
from plantsync.core.models.integration import LinkState, SyncLog, SyncStatus
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import Hub
from tests.integration.sync.helpers import ensure_site, linked_machines, links_of, make_work_orders
from tests.integration.sync.test_outbound import erp_rows

ORDERS = 250  # three push batches
WAIT_S = 120.0


def _env(hub: Hub, tmp_path: Path) -> dict[str, str]:
    s = hub.settings
    assert s.secret_key is not None and s.encryption_keys is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANTSYNC_")}
    env.update(
        PLANTSYNC_DATABASE_URL=s.effective_database_url,
        PLANTSYNC_SECRET_KEY=s.secret_key.get_secret_value(),
        PLANTSYNC_ENCRYPTION_KEYS=s.encryption_keys.get_secret_value(),
        PLANTSYNC_DATA_DIR=str(tmp_path / "cli-data"),
        PLANTSYNC_AUTO_MIGRATE="false",
    )
    return env


def _wait_for(check: object, proc: subprocess.Popen[bytes], err: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():  # type: ignore[operator]
        if proc.poll() is not None:
            text = err.read_text(errors="replace")[-2000:]
            pytest.fail(f"the sync process ended early ({proc.returncode}): {text}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the sync process made no progress")
        time.sleep(0.05)  # polling another process's progress in the database


def test_killed_run_converges(hub: Hub, tmp_path: Path) -> None:
    conn = hub.connect("sap", outbound_start_from="2020-01-01T00:00:00Z")
    hub.sync(conn, Direction.inbound, EntityType.machine)
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, conn.id, 10), ORDERS, site=site
    )
    before = erp_rows(hub, conn, EntityType.work_order)
    hub.erp.set_faults(latency_ms=1500, methods=["POST"])  # every $batch takes 1.5 s

    cmd = [sys.executable, "-m", "plantsync", "sync", conn.name, "--direction", "outbound",
           "--entity", "work_order", "--wait"]  # fmt: skip

    def first_batch_recorded() -> bool:
        links = links_of(hub.db, conn.id, EntityType.work_order)
        return sum(x.state == LinkState.linked for x in links) >= 100

    err_path = tmp_path / "sync-stderr.txt"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(cmd, env=_env(hub, tmp_path), stdout=subprocess.DEVNULL, stderr=err)
        _wait_for(first_batch_recorded, proc, err_path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    hub.erp.set_faults()
    # The killed process's last $batch is still in the ERP (sleeping in the latency fault): it
    # lands after the kill. A real lease (120 s) gives it that time; the test expires the lease
    # at once, so it waits for the ERP to finish what it was sent first.
    hub.erp.wait_idle(timeout_s=WAIT_S)

    with hub.db.read_session() as s:
        (log,) = s.exec(select(SyncLog).where(SyncLog.connection_id == conn.id,
                                              SyncLog.entity_type == EntityType.work_order)).all()  # fmt: skip
    assert log.status == SyncStatus.in_progress  # the dead process cannot close it ...
    with hub.db.write_session() as s:  # ... its lease expires and it is failed
        later = FrozenClock(SYSTEM_CLOCK.now() + timedelta(seconds=runs.DEFAULT_LEASE_SECONDS + 1))
        expired = runs.expire_stale_leases(session=s, clock=later)
    assert [x.id for x in expired] == [log.id]
    assert expired[0].status == SyncStatus.failed and "lease" in (expired[0].message or "")

    resumed = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert resumed.status == SyncStatus.success, resumed.message
    assert resumed.records_failed == 0
    links = links_of(hub.db, conn.id, EntityType.work_order)
    assert {x.state for x in links} == {LinkState.linked}
    after = erp_rows(hub, conn, EntityType.work_order)
    assert len(after) - len(before) == len(orders)  # nothing created twice
    assert len({x.erp_key for x in links}) == len(orders)
    assert hub.sync(conn, Direction.outbound, EntityType.work_order).status == SyncStatus.skipped
