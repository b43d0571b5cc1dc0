"""The run life cycle and the in-process executor on both databases."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from plantsync.core.clock import FrozenClock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.connections import ConnectionCreate
from plantsync.core.models.integration import (
    MAX_RECORD_ERRORS_PER_RUN,
    SyncLog,
    SyncStatus,
    SyncTrigger,
)
from plantsync.core.principal import Principal
from plantsync.core.services import connections, sync_logs
from plantsync.core.sync import current_database, runs
from plantsync.core.sync.executor import ENGINE_MISSING, Executor, run_in_process
from plantsync.entities import Direction, EntityType
from plantsync.errors import ConflictError
from tests.integration.connections.test_connections_api import EXAMPLE


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def conn_id(db: Database, tenant: Tenant, settings: Settings, clock: FrozenClock) -> uuid.UUID:
    with db.session(write=True) as s:
        conn = connections.create_connection(
            session=s, tenant_id=tenant.id, data=ConnectionCreate.model_validate(EXAMPLE),
            principal=Principal.system(tenant.id), settings=settings, clock=clock,
        )  # fmt: skip
        return conn.id


def _request(db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock,
             entity: EntityType = EntityType.machine) -> tuple[SyncLog, bool]:  # fmt: skip
    with db.session(write=True) as s:
        return runs.request_sync(
            session=s, tenant_id=tenant.id, connection_id=conn_id, direction=Direction.inbound
            if entity is EntityType.machine else Direction.outbound, entity_type=entity,
            entity_id=None, trigger=SyncTrigger.schedule, principal=None, clock=clock,
        )  # fmt: skip


def _get(db: Database, log_id: uuid.UUID) -> SyncLog:
    with db.read_session() as s:
        log = s.get(SyncLog, log_id)
        assert log is not None
        return log


def test_concurrent_triggers_make_one_run(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    results: list[tuple[SyncLog, bool]] = []
    barrier = threading.Barrier(4)

    def trigger() -> None:
        barrier.wait()
        results.append(_request(db, tenant, conn_id, clock))

    threads = [threading.Thread(target=trigger) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) == 1
    assert len({log.id for log, _ in results}) == 1


def test_claim_is_atomic_and_lease_rules(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    log, _ = _request(db, tenant, conn_id, clock)
    with db.session(write=True) as s:
        assert runs.claim(log.id, session=s, worker_id="a", lease_seconds=60, clock=clock)
        assert runs.claim(log.id, session=s, worker_id="b", clock=clock) is None
        assert runs.claim_next(session=s, worker_id="b", clock=clock) is None
        assert not runs.heartbeat(log.id, session=s, worker_id="b", clock=clock)
        clock.advance(50)
        assert runs.heartbeat(log.id, session=s, worker_id="a", lease_seconds=60, clock=clock,
                              progress={"phase": "pulling", "done": 10}, counts=runs.RunCounts(read=10))  # fmt: skip
        clock.advance(50)  # within the renewed lease: a live worker is never touched
        assert runs.expire_stale_leases(session=s, clock=clock) == []
        assert _get(db, log.id).progress == {"phase": "pulling", "done": 10}
        clock.advance(30)
        expired = runs.expire_stale_leases(session=s, clock=clock)
    assert [e.id for e in expired] == [log.id]
    final = _get(db, log.id)
    assert final.status == SyncStatus.failed and "stopped renewing its lease" in (
        final.message or ""
    )
    assert final.records_read == 10
    with db.session(write=True) as s, pytest.raises(ConflictError):
        runs.finish(log.id, SyncStatus.success, runs.RunCounts(), "late", session=s, worker_id="a",
                    clock=clock)  # fmt: skip


def test_record_errors_are_capped_with_total(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    log, _ = _request(db, tenant, conn_id, clock)
    failures = [runs.RecordFailure(code="bad", message=f"record {i}", local_id=str(i))
                for i in range(MAX_RECORD_ERRORS_PER_RUN + 20)]  # fmt: skip
    with db.session(write=True) as s:
        runs.claim(log.id, session=s, worker_id="a", clock=clock)
        runs.finish(log.id, SyncStatus.success, runs.RunCounts(failed=len(failures)), "partial",
                    failures, session=s, clock=clock)  # fmt: skip
        detail = sync_logs.get_log_detail(session=s, tenant_id=tenant.id, log_id=log.id)
    assert len(detail.errors) == MAX_RECORD_ERRORS_PER_RUN
    assert detail.errors_total == len(failures) and detail.errors_truncated


def test_executor_without_engine_fails_the_run_clearly(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    log, _ = _request(db, tenant, conn_id, clock)
    executor = Executor(db, runner=None, clock=clock)
    try:
        assert executor.run_once() == [log.id]
        executor.drain()
    finally:
        executor.stop()
    final = _get(db, log.id)
    assert final.status == SyncStatus.failed and final.message == ENGINE_MISSING
    assert final.worker_id == executor.worker_id and final.started_at and final.finished_at


def test_executor_claims_pending_and_runs_the_runner(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    seen: list[tuple[uuid.UUID, SyncStatus]] = []

    def runner(log_id: uuid.UUID) -> None:
        database = current_database()
        assert database is db
        seen.append((log_id, _get(database, log_id).status))
        with database.session(write=True) as s:
            runs.finish(log_id, SyncStatus.success, runs.RunCounts(read=5, written=5), "5 written",
                        session=s, clock=clock)  # fmt: skip

    def broken(log_id: uuid.UUID) -> None:
        raise RuntimeError("boom")

    first, _ = _request(db, tenant, conn_id, clock)
    second, _ = _request(db, tenant, conn_id, clock, EntityType.downtime)
    executor = Executor(db, runner=runner, clock=clock, max_workers=2)
    try:
        assert sorted(executor.run_once()) == sorted([first.id, second.id])
        executor.drain()
    finally:
        executor.stop()
    assert sorted(seen) == sorted(
        [(first.id, SyncStatus.in_progress), (second.id, SyncStatus.in_progress)]
    )
    assert _get(db, first.id).status == SyncStatus.success
    third, _ = _request(db, tenant, conn_id, clock)
    closed = run_in_process(third.id, database=db, runner=broken, clock=clock)
    assert closed is not None and closed.status == SyncStatus.failed
    assert "RuntimeError: boom" in (closed.message or "")
    assert run_in_process(third.id, database=db, runner=broken, clock=clock) is None


def test_prune_keeps_recent_and_active(
    db: Database, tenant: Tenant, conn_id: uuid.UUID, clock: FrozenClock
) -> None:
    old, _ = _request(db, tenant, conn_id, clock)
    with db.session(write=True) as s:
        runs.finish(old.id, SyncStatus.failed, runs.RunCounts(), "x",
                    [runs.RecordFailure(code="c", message="m")], session=s, clock=clock)  # fmt: skip
    stuck, _ = _request(db, tenant, conn_id, clock, EntityType.downtime)
    clock.advance(timedelta(days=91))
    recent, _ = _request(db, tenant, conn_id, clock)
    with db.session(write=True) as s:
        assert sync_logs.prune_logs(session=s, retention_days=90, clock=clock) == 1
    with db.read_session() as s:
        assert s.get(SyncLog, old.id) is None
        assert s.get(SyncLog, stuck.id) is not None and s.get(SyncLog, recent.id) is not None
