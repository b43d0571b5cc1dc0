"""SQLite under mixed load: while the real ``plantsync serve`` runs a large inbound machine sync
(the executor writing in bulk), andon calls and API reads keep arriving. None may fail with
"database is locked" (or any 5xx); their p50/p99 latencies are printed.

Size: ``PLANTSYNC_MIXED_RECORDS`` machines in the ERP (small in ``make test``; the figure in
BENCHMARKS.md comes from a larger run).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

import httpx
from sqlmodel import select

from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.models.integration import SyncLog, SyncStatus
from plantsync.core.principal import Role
from plantsync.core.security import encode_access_token
from plantsync.core.services.demo import fill_demo
from tests.factories import create_user
from tests.integration.connectors.conftest import SandboxHandle
from tests.reliability.processes import ServeProcess, SoakWorld, wait_for

RECORDS = int(os.environ.get("PLANTSYNC_MIXED_RECORDS", "600"))
CLIENTS = 3


def _token(world: SoakWorld, tenant_id: Any) -> str:
    user = create_user(world.db, tenant_id=tenant_id, role=Role.admin)
    token, _ = encode_access_token(
        world.settings, subject_id=user.id, tenant_id=tenant_id, kind="user", clock=SYSTEM_CLOCK
    )
    return token


def _client_loop(url: str, token: str, machines: list[str], stop: threading.Event,
                 out: list[tuple[str, int, float, str]], seed: int) -> None:  # fmt: skip
    requests = [
        ("POST", "/api/v1/calls"),
        ("GET", "/api/v1/machines"),
        ("GET", "/api/v1/erp/logs"),
        ("GET", "/api/v1/calls"),
    ]
    i = seed
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        while not stop.is_set():
            method, path = requests[i % len(requests)]
            body = {"machine_id": machines[i % len(machines)], "call_type": "HELP"}
            start = time.perf_counter()
            resp = c.request(method, path, json=body if method == "POST" else None)
            out.append((f"{method} {path}", resp.status_code, time.perf_counter() - start,
                        resp.text if resp.status_code >= 500 else ""))  # fmt: skip
            i += 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_andon_and_reads_never_see_a_locked_database_during_a_big_sync(
    soak_world: SoakWorld, erp: SandboxHandle
) -> None:
    world = soak_world
    erp.reset(records=RECORDS, providers=["oracle"])
    hub = world.hubs["oracle"]
    with world.db.write_session() as s:
        fill_demo(session=s, tenant_id=hub.tenant.id)
        from plantsync.core.models.plant import Machine

        machines = [
            str(m)
            for m in s.exec(select(Machine.id).where(Machine.tenant_id == hub.tenant.id)).all()
        ]
    conn = hub.connect("oracle", sync_entities=[{"direction": "inbound", "entity_type": "machine"}],
                       is_active=True, sync_interval_minutes=1440)  # fmt: skip
    token = _token(world, hub.tenant.id)
    results: list[tuple[str, int, float, str]] = []
    stop = threading.Event()
    with ServeProcess(world, env={"PLANTSYNC_SCHEDULER_ENABLED": "false"}) as serve:
        auth = {"Authorization": f"Bearer {token}"}
        resp = httpx.post(f"{serve.url}/api/v1/erp/connections/{conn.id}/sync", headers=auth,
                          json={"direction": "inbound", "entity_type": "machine"}, timeout=30)  # fmt: skip
        assert resp.status_code == 202, resp.text
        log_id = resp.json()["id"]
        threads = [threading.Thread(target=_client_loop, args=(serve.url, token, machines, stop, results, n))
                   for n in range(CLIENTS)]  # fmt: skip
        for t in threads:
            t.start()
        try:
            wait_for(lambda: _finished(world, log_id), 900, serve)
        finally:
            stop.set()
            for t in threads:
                t.join()
        log_text = serve.stderr_tail()
    final = _finished(world, log_id)
    assert final is not None and final.status == SyncStatus.success, final
    assert final.records_written >= RECORDS * 0.9
    failures = [(name, status, text[:200]) for name, status, _, text in results if status >= 500]
    assert not failures, failures
    assert "database is locked" not in log_text.lower()
    report = {}
    for name in sorted({r[0] for r in results}):
        lat = [r[2] * 1000 for r in results if r[0] == name]
        report[name] = (len(lat), statistics.median(lat), _percentile(lat, 0.99))
    print(f"\nSQLite mixed load during an inbound sync of {RECORDS} machines "
          f"({final.duration_ms} ms):")  # fmt: skip
    for name, (n, p50, p99) in report.items():
        print(f"  {name}: n={n} p50={p50:.1f} ms p99={p99:.1f} ms")
    assert report, "no request was sent during the sync"


def _finished(world: SoakWorld, log_id: str) -> SyncLog | None:
    import uuid

    with world.db.read_session() as s:
        log = s.get(SyncLog, uuid.UUID(log_id))
    if log is None or log.status in (SyncStatus.pending, SyncStatus.in_progress):
        return None
    return log
