"""The scheduler's decisions against a real database (SQLite and PostgreSQL), in-process,
with an injected clock: due runs, no duplicates, coalescing, changes without restart, stalled
runs retried, degraded connections, /metrics and /readyz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plantsync.api.app import create_app
from plantsync.core.clock import SYSTEM_CLOCK, FrozenClock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.connections import ConnectionUpdate
from plantsync.core.models.integration import SyncLog, SyncStatus, SyncTrigger
from plantsync.core.principal import Principal
from plantsync.core.security import encode_access_token
from plantsync.core.services import connections as service
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from plantsync.scheduler.embedded import SchedulerService
from tests.conftest import TestClient
from tests.factories import create_user
from tests.integration.scheduler.helpers import connect, logs_of

PAIRS = [
    {"direction": "inbound", "entity_type": "machine"},
    {"direction": "outbound", "entity_type": "work_order"},
]


class Waker:
    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


def _service(db: Database, settings: Settings, clock: FrozenClock) -> SchedulerService:
    fast = settings.model_copy(update={"scheduler_jitter_seconds": 60.0})
    return SchedulerService(db, fast, executor=Waker(), clock=clock)


def _finish(db: Database, log: SyncLog, status: SyncStatus, clock: FrozenClock) -> None:
    with db.write_session() as session:
        runs.claim(log.id, session=session, worker_id="t", clock=clock)
        runs.finish(log.id, status, runs.RunCounts(), "done", session=session, clock=clock)


def test_due_runs_once_then_after_the_interval(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    clock = FrozenClock()
    conn = connect(db, settings, tenant.id, entities=PAIRS, sync_interval_minutes=30, clock=clock)
    other = connect(db, settings, tenant.id, is_active=False, clock=clock)
    sched = _service(db, settings, clock)
    assert sched.tick() == 0  # started now: first runs spread over the next minute
    clock.advance(timedelta(minutes=1, seconds=1))  # past every first-run jitter (<= 60 s)
    assert sched.tick() == 2, sched.last_error
    assert sched.tick() == 0  # pending runs are not requested twice
    assert sched.executor.woken == 1  # type: ignore[union-attr]
    first = logs_of(db, conn.id)
    assert {(log.trigger, log.status) for log in first} == {
        (SyncTrigger.schedule, SyncStatus.pending)
    }
    assert logs_of(db, other.id) == []
    for log in first:
        _finish(db, log, SyncStatus.success, clock)
    clock.advance(timedelta(minutes=29))
    assert sched.tick() == 0
    clock.advance(timedelta(minutes=1))
    assert sched.tick() == 2


def test_missed_runs_are_coalesced_after_a_restart(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    clock = FrozenClock()
    conn = connect(db, settings, tenant.id, entities=PAIRS, sync_interval_minutes=5, clock=clock)
    first = _service(db, settings, clock)
    assert first.tick() == 0
    clock.advance(timedelta(minutes=2))
    assert first.tick() == 2, first.last_error
    for log in logs_of(db, conn.id):
        _finish(db, log, SyncStatus.success, clock)
    first.stop()
    clock.advance(timedelta(hours=10))  # the hub was down: 120 intervals missed
    restarted = _service(db, settings, clock)
    restarted.tick()  # becomes active "now": the missed runs fire within the jitter window
    clock.advance(timedelta(seconds=61))
    assert restarted.tick() == 2
    for _ in range(3):
        clock.advance(timedelta(seconds=20))
        assert restarted.tick() == 0  # one run per pair, not a burst
    assert len(logs_of(db, conn.id)) == 4


def test_connection_changes_count_at_the_next_tick(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    clock = FrozenClock()
    conn = connect(db, settings, tenant.id, sync_interval_minutes=1440, clock=clock)
    sched = _service(db, settings, clock)
    assert sched.tick() == 0
    clock.advance(timedelta(minutes=2))
    assert sched.tick() == 1, sched.last_error
    _finish(db, logs_of(db, conn.id)[0], SyncStatus.success, clock)
    clock.advance(timedelta(minutes=10))
    assert sched.tick() == 0
    principal = Principal.system(tenant.id)
    with db.write_session() as session:  # as another API node or the CLI would
        service.update_connection(
            session=session, tenant_id=tenant.id, connection=conn.id,
            data=ConnectionUpdate(sync_interval_minutes=5), principal=principal,
            settings=settings, clock=clock,
        )  # fmt: skip
    assert sched.tick() == 1
    _finish(db, logs_of(db, conn.id)[-1], SyncStatus.success, clock)
    clock.advance(timedelta(minutes=6))
    with db.write_session() as session:
        service.update_connection(
            session=session, tenant_id=tenant.id, connection=conn.id,
            data=ConnectionUpdate(is_active=False), principal=principal, settings=settings,
            clock=clock,
        )  # fmt: skip
    assert sched.tick() == 0
    with db.write_session() as session:
        service.update_connection(
            session=session, tenant_id=tenant.id, connection=conn.id,
            data=ConnectionUpdate(is_active=True), principal=principal, settings=settings,
            clock=clock,
        )  # fmt: skip
        service.delete_connection(
            session=session, tenant_id=tenant.id, connection=conn.id, principal=principal,
            clock=clock,
        )  # fmt: skip
    assert sched.tick() == 0


def test_stalled_runs_fail_and_are_retried_live_ones_are_not(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    clock = FrozenClock()
    dead = connect(db, settings, tenant.id, clock=clock)
    live = connect(db, settings, tenant.id, clock=clock)
    logs = {}
    for conn in (dead, live):
        with db.write_session() as session:
            log, _ = runs.request_sync(
                session=session, tenant_id=tenant.id, connection_id=conn.id,
                direction=Direction.inbound, entity_type=EntityType.machine,
                entity_id=None, trigger=SyncTrigger.schedule, principal=None, clock=clock,
            )  # fmt: skip
            runs.claim(log.id, session=session, worker_id=f"w-{conn.name}", lease_seconds=30,
                       clock=clock)  # fmt: skip
        logs[conn.id] = log
    policy_settings = settings.model_copy(update={"sync_retry_delay_seconds": 0.0})
    sched = SchedulerService(db, policy_settings, executor=Waker(), clock=clock)
    for _ in range(10):  # the live worker renews its lease; the dead one does not
        clock.advance(timedelta(seconds=20))
        with db.write_session() as session:
            assert runs.heartbeat(logs[live.id].id, session=session, worker_id=f"w-{live.name}",
                                  lease_seconds=30, clock=clock)  # fmt: skip
        sched.check_stalled()
    dead_logs = logs_of(db, dead.id)
    assert [(log.status, log.trigger, log.attempt) for log in dead_logs] == [
        (SyncStatus.failed, SyncTrigger.schedule, 1),
        (SyncStatus.pending, SyncTrigger.retry, 2),
    ]
    assert "stopped renewing its lease" in (dead_logs[0].message or "")
    assert dead_logs[1].retry_of_id == dead_logs[0].id
    assert [log.status for log in logs_of(db, live.id)] == [SyncStatus.in_progress]
    # The retry dies too; after the last attempt nothing more is requested.
    for attempt in (2, 3):
        current = logs_of(db, dead.id)[-1]
        assert current.attempt == attempt
        with db.write_session() as session:
            runs.claim(current.id, session=session, worker_id="w", lease_seconds=5, clock=clock)
        clock.advance(timedelta(seconds=10))
        sched.check_stalled()
    assert [log.attempt for log in logs_of(db, dead.id)] == [1, 2, 3]
    assert logs_of(db, dead.id)[-1].status == SyncStatus.failed


def test_degraded_flag_metrics_and_readyz(db: Database, settings: Settings, tenant: Tenant) -> None:
    clock = FrozenClock(datetime.now(UTC) - timedelta(hours=1))  # within the metrics window
    conn = connect(db, settings, tenant.id, clock=clock)
    for _ in range(settings.degraded_after_failures):
        clock.advance(timedelta(minutes=1))
        with db.write_session() as session:
            log, _ = runs.request_sync(
                session=session, tenant_id=tenant.id, connection_id=conn.id,
                direction=Direction.inbound, entity_type=EntityType.machine,
                entity_id=None, trigger=SyncTrigger.schedule, principal=None, clock=clock,
            )  # fmt: skip
        _finish(db, log, SyncStatus.failed, clock)
    with db.read_session() as session:
        public = service.to_public(session=session, connection=conn, clock=clock)
    assert public.degraded and public.consecutive_failures == settings.degraded_after_failures
    app = create_app(settings, database=db)
    with TestClient(app) as client:
        user = create_user(db, tenant_id=tenant.id)
        token, _ = encode_access_token(settings, subject_id=user.id, tenant_id=tenant.id,
                                       kind="user", clock=SYSTEM_CLOCK)  # fmt: skip
        got = client.get(f"/api/v1/erp/connections/{conn.id}",
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert got.status_code == 200 and got.json()["degraded"] is True
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        text = metrics.text
        assert 'plantsync_sync_runs{status="failed"} 3.0' in text
        assert f'plantsync_connection_degraded{{connection="{conn.name}"' in text or (
            f'connection_id="{conn.id}"' in text and "plantsync_connection_degraded" in text
        )
        assert "plantsync_sync_run_duration_seconds_bucket" in text
        assert 'plantsync_sync_records{kind="read"}' in text
        assert 'plantsync_sync_queue_depth{queue="pending_runs"} 0.0' in text
        assert "plantsync_http_request_duration_seconds_bucket" in text
        assert 'route="/api/v1/erp/connections/{connection_id}"' in text
    # /readyz reports the scheduler and queue in its body; it fails only on the database.
    from plantsync.scheduler.status import background_state

    state = background_state(db, settings, None)
    assert state["executor"] == "embedded"
    assert state["scheduler"]["active"] is False  # no scheduler runs for this database
    if not settings.is_sqlite:
        assert state["queue"]["available"] is False  # no procrastinate tables: reported only
