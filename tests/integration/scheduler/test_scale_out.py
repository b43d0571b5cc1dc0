"""Scale-out on PostgreSQL with real processes: `plantsync scheduler` x2 (active + standby)
and `plantsync worker` x2 sync connections of two tenants against the sandbox ERPs.

Intervals are shortened with the test-only PLANTSYNC_SCHEDULER_MINUTE_SECONDS (users keep the
5-minute floor). Every wait polls observable state (the database) with a deadline.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import SQLModel, col, func, select

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Machine
from plantsync.core.models.connections import ConnectionUpdate
from plantsync.core.models.integration import Connection, SyncLog, SyncStatus, SyncTrigger
from plantsync.core.principal import Principal
from plantsync.core.services import connections as service
from tests.factories import create_tenant
from tests.integration.connectors.conftest import SandboxHandle
from tests.integration.scheduler.helpers import Proc, connect, hub_env, logs_of, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MINUTE_S = 1.0  # one interval minute lasts a second: 5-minute intervals are 5 s
PROVIDERS = ("sap", "dynamics", "oracle")
LEASE_S = 3


@pytest.fixture
def pg(pg_schema_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=pg_schema_url,
        secret_key="test-secret-key-" + uuid.uuid4().hex,  # type: ignore[arg-type]
        encryption_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
        password_hash_cost="low",
    )
    db = Database(settings.effective_database_url)
    SQLModel.metadata.create_all(db.engine)
    yield settings, db
    db.dispose()


def _env(settings: Settings, **extra: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "executor": "queue",
        "scheduler_tick_seconds": 0.5,
        "scheduler_minute_seconds": MINUTE_S,
        "scheduler_jitter_seconds": 1.0,
        "sync_lease_seconds": LEASE_S,
        "stalled_check_seconds": 0.5,
        "sync_retry_delay_seconds": 0,
        "worker_concurrency": 3,
        **extra,
    }
    return hub_env(settings, **values)


def _erp_connection(
    db: Database, settings: Settings, erp: SandboxHandle, tenant_id: uuid.UUID, provider: str,
    **fields: Any,
) -> Connection:  # fmt: skip
    info = erp.info[provider]
    return connect(
        db, settings, tenant_id, provider=provider, base_url=info["base_url"],
        auth=info["auth_config"], tls={"ca_bundle_pem": info["tls"]["ca_bundle_pem"]}, **fields,
    )  # fmt: skip


def _holder_pid(db: Database) -> int | None:
    """The OS pid of the scheduler process holding the lock (from its application_name)."""
    with db.read_session() as session:
        row = session.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND a.application_name LIKE 'plantsync-scheduler-%' LIMIT 1"
            )
        ).first()
    return int(row[0].rsplit("-", 1)[1]) if row else None


def _finished(db: Database, trigger: SyncTrigger | None = None) -> list[SyncLog]:
    logs = [r for r in logs_of(db) if r.status not in (SyncStatus.pending, SyncStatus.in_progress)]
    return [r for r in logs if trigger is None or r.trigger == trigger]


def _assert_no_duplicate_runs(db: Database, interval: timedelta) -> None:
    """Scheduled runs of one pair are an interval apart (less the tick), never doubled."""
    by_pair: dict[tuple[Any, ...], list[SyncLog]] = defaultdict(list)
    for r in logs_of(db):
        if r.trigger == SyncTrigger.schedule:
            by_pair[(r.connection_id, r.entity_type, r.direction)].append(r)
    for pair, logs in by_pair.items():
        for a, b in itertools.pairwise(logs):
            assert b.created_at - a.created_at >= interval - timedelta(seconds=1), pair


def test_scheduler_and_two_workers_run_each_due_run_once(
    pg: tuple[Settings, Database], small_erp: SandboxHandle, tmp_path: Path
) -> None:
    settings, db = pg
    small_erp.set_faults()
    tenants = [create_tenant(db), create_tenant(db)]
    conns = [
        _erp_connection(
            db, settings, small_erp, tenants[i % 2].id, PROVIDERS[i % 3], sync_interval_minutes=5
        )
        for i in range(20)
    ]
    env = _env(settings)
    # The scheduler starts first: its jobs wait in PostgreSQL until workers come.
    sched_a = Proc("scheduler-a", ["scheduler"], env, tmp_path)
    procs = [sched_a]
    try:
        wait_for(lambda: _holder_pid(db) == sched_a.pid, timeout=30, what="scheduler A leads")
        sched_b = Proc("scheduler-b", ["scheduler"], env, tmp_path)
        procs.append(sched_b)
        wait_for(
            lambda: len([r for r in logs_of(db) if r.status == SyncStatus.pending]) >= 20,
            timeout=30, what="the first runs queued",
        )  # fmt: skip
        workers = [Proc(f"worker-{i}", ["worker"], env, tmp_path) for i in range(2)]
        procs += workers
        # Every connection syncs twice, each run executed by exactly one worker.
        wait_for(
            lambda: len({r.connection_id for r in _finished(db, SyncTrigger.schedule)
                         if r.status == SyncStatus.success}) == 20
            and all(len([r for r in logs_of(db, c.id) if r.status == SyncStatus.success]) >= 2
                    for c in conns),
            timeout=120, what="two successful runs of every connection",
        )  # fmt: skip
        finished = _finished(db)
        assert {r.status for r in finished} == {SyncStatus.success}, [
            (r.status, r.message) for r in finished if r.status != SyncStatus.success
        ]
        assert {r.worker_id.split(":")[2] for r in finished if r.worker_id} == {  # pid part
            str(w.pid) for w in workers
        }
        _assert_no_duplicate_runs(db, timedelta(seconds=5 * MINUTE_S))
        with db.read_session() as session:  # 15 machines per ERP x 3, upserted by key
            per_tenant = session.exec(
                select(Machine.tenant_id, func.count()).group_by(col(Machine.tenant_id))
            ).all()
        assert {n for _t, n in per_tenant} == {45}

        # Kill the active scheduler: the standby takes over within seconds, runs go on.
        sched_a.kill()
        wait_for(lambda: _holder_pid(db) == sched_b.pid, timeout=20, what="standby B leads")
        before = len(logs_of(db))
        wait_for(lambda: len(logs_of(db)) > before + 5, timeout=30, what="B schedules runs")

        # An interval changed through the API (another process) counts without a restart.
        slow = conns[0]
        with db.write_session() as session:
            service.update_connection(
                session=session, tenant_id=slow.tenant_id, connection=slow.id,
                data=ConnectionUpdate(sync_interval_minutes=1440),
                principal=Principal.system(slow.tenant_id), settings=settings,
            )  # fmt: skip
        wait_for(lambda: not [r for r in logs_of(db, slow.id)
                              if r.status in (SyncStatus.pending, SyncStatus.in_progress)],
                 timeout=30, what="the slow connection's run to end")  # fmt: skip
        settled = len(logs_of(db, slow.id))
        others = len(logs_of(db, conns[1].id))
        wait_for(lambda: len(logs_of(db, conns[1].id)) >= others + 2, timeout=30,
                 what="two more runs of another connection")  # fmt: skip
        assert len(logs_of(db, slow.id)) == settled  # 1440 minutes: not due again
        _patch_interval(settings, db, slow, 5)
        wait_for(lambda: len(logs_of(db, slow.id)) > settled, timeout=30,
                 what="the changed interval to schedule a run")  # fmt: skip
    finally:
        for p in procs:
            p.stop()
    for p in procs:
        assert "Traceback" not in p.output(), p.output()[-3000:]


def _patch_interval(settings: Settings, db: Database, conn: Connection, minutes: int) -> None:
    """PATCH /api/v1/erp/connections/{id} through the API app, as an admin would."""
    from plantsync.api.app import create_app
    from plantsync.core.clock import SYSTEM_CLOCK
    from plantsync.core.security import encode_access_token
    from tests.conftest import TestClient
    from tests.factories import create_user

    user = create_user(db, tenant_id=conn.tenant_id)
    token, _ = encode_access_token(settings, subject_id=user.id, tenant_id=conn.tenant_id,
                                   kind="user", clock=SYSTEM_CLOCK)  # fmt: skip
    with TestClient(create_app(settings, database=db)) as client:
        answer = client.patch(
            f"/api/v1/erp/connections/{conn.id}",
            json={"sync_interval_minutes": minutes},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text


def _jobs_doing(db: Database) -> int:
    with db.read_session() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")
            ).scalar_one()
        )


def test_killed_worker_run_fails_then_retries_and_long_runs_are_not_stalled(
    pg: tuple[Settings, Database], small_erp: SandboxHandle, tmp_path: Path
) -> None:
    settings, db = pg
    # Every request to this ERP takes 2 s: a run lasts several leases (3 s) on a live worker.
    small_erp.set_faults(latency_ms=2000, providers=["sap"])
    tenant = create_tenant(db)
    conn = _erp_connection(db, settings, small_erp, tenant.id, "sap", sync_interval_minutes=1440)
    env = _env(settings, worker_concurrency=1)
    sched = Proc("scheduler", ["scheduler"], env, tmp_path)
    doomed = Proc("worker-doomed", ["worker"], env, tmp_path)
    procs = [sched, doomed]
    try:
        first = wait_for(
            lambda: next((r for r in logs_of(db, conn.id) if r.status == SyncStatus.in_progress
                          and f":{doomed.pid}:" in (r.worker_id or "")), None),
            timeout=60, what="the doomed worker to start the run",
        )  # fmt: skip
        doomed.kill()  # mid-run: no clean-up, no goodbye
        survivor = Proc("worker-survivor", ["worker"], env, tmp_path)
        procs.append(survivor)
        retry = wait_for(
            lambda: next((r for r in logs_of(db, conn.id) if r.retry_of_id == first.id
                          and r.status not in (SyncStatus.pending, SyncStatus.in_progress)), None),
            timeout=90, what="the retry to finish",
        )  # fmt: skip
        failed = next(r for r in logs_of(db, conn.id) if r.id == first.id)
        assert failed.status == SyncStatus.failed
        assert "stopped renewing its lease" in (failed.message or "")
        assert retry.trigger == SyncTrigger.retry and retry.attempt == 2
        # The retry ran on a live worker for longer than a lease: never taken for stalled.
        assert retry.status == SyncStatus.success, retry.message
        assert f":{survivor.pid}:" in (retry.worker_id or "")
        assert (retry.duration_ms or 0) > LEASE_S * 1000
        assert [r.status for r in logs_of(db, conn.id)] == [SyncStatus.failed, SyncStatus.success]
        with db.read_session() as session:  # no duplicates from the interrupted run
            machines = session.exec(
                select(func.count()).select_from(Machine).where(Machine.tenant_id == tenant.id)
            ).one()
        assert machines == 15
        # The dead worker's job does not stay "doing" either.
        wait_for(lambda: _jobs_doing(db) == 0, timeout=30, what="the dead job to be closed")
    finally:
        small_erp.set_faults()
        for p in procs:
            p.stop()
