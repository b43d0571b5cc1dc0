"""Due times, coalescing and jitter (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from plantsync.core.models.integration import Connection
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from plantsync.scheduler import due
from plantsync.scheduler.stalled import ABANDONED_MARK, RetryPolicy

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TIMING = due.Timing(minute=timedelta(minutes=1), max_jitter=timedelta(minutes=5))
PAIRS = [
    {"direction": "outbound", "entity_type": "work_order"},
    {"direction": "inbound", "entity_type": "machine"},
]


def _conn(**kw: object) -> Connection:
    values: dict[str, object] = {
        "tenant_id": uuid.uuid4(), "name": "c", "provider": "sap", "base_url": "https://x",
        "auth_config_encrypted": "", "sync_interval_minutes": 60, "sync_entities": PAIRS,
        "outbound_start_from": T0, "created_at": T0, "updated_at": T0,
    }  # fmt: skip
    values.update(kw)
    return Connection(**values)


def _pairs(conn: Connection, last: dict[str, datetime], *, now: datetime, since: datetime):  # type: ignore[no-untyped-def]
    last_runs = {
        (conn.id, EntityType(p["entity_type"]).value, Direction(p["direction"]).value): last[
            p["entity_type"]
        ]
        for p in PAIRS
        if p["entity_type"] in last
    }
    return due.pairs_of(conn, last_runs, now=now, since=since, timing=TIMING)


def test_jitter_is_deterministic_and_spread() -> None:
    ids = [uuid.UUID(int=i) for i in range(100)]
    fractions = [due.jitter_fraction(i, Direction.outbound, EntityType.work_order) for i in ids]
    assert fractions == [
        due.jitter_fraction(i, Direction.outbound, EntityType.work_order) for i in ids
    ]
    assert all(0 <= f < 1 for f in fractions)
    # 100 connections: no tenth of the window holds more than a quarter of them.
    deciles = [sum(1 for f in fractions if k / 10 <= f < (k + 1) / 10) for k in range(10)]
    assert max(deciles) <= 25 and len(set(fractions)) == 100


def test_jitter_window_is_capped_by_half_the_interval() -> None:
    assert due.jitter_window(timedelta(minutes=60), timedelta(minutes=5)) == timedelta(minutes=5)
    assert due.jitter_window(timedelta(minutes=6), timedelta(minutes=5)) == timedelta(minutes=3)


def test_new_connections_fire_spread_within_the_window() -> None:
    conns = [_conn() for _ in range(100)]
    fires = [p.fire_at for c in conns for p in _pairs(c, {}, now=T0, since=T0 - timedelta(1))]
    assert all(f is not None and T0 <= f < T0 + timedelta(minutes=5) for f in fires)
    assert len({f for f in fires}) == len(fires)  # nobody fires together
    first_minute = [f for f in fires if f is not None and f < T0 + timedelta(minutes=1)]
    assert len(first_minute) < len(fires) / 2


def test_steady_state_fires_one_interval_after_the_last_run() -> None:
    conn = _conn()
    last = T0 + timedelta(minutes=7, seconds=13)
    pairs = _pairs(conn, {"work_order": last}, now=last, since=T0)
    wo = next(p for p in pairs if p.entity_type is EntityType.work_order)
    assert wo.next_sync_at == wo.fire_at == last + timedelta(minutes=60)
    assert due.due_now(pairs, last + timedelta(minutes=59)) == [
        p for p in pairs if p.entity_type is EntityType.machine
    ]


def test_missed_runs_coalesce_into_one_run_spread_after_start() -> None:
    conn = _conn()
    last = T0 - timedelta(hours=10)  # ten intervals missed while the hub was down
    started = T0
    pairs = _pairs(conn, {"work_order": last, "machine": last}, now=T0, since=started)
    for p in pairs:
        assert p.next_sync_at == last + timedelta(hours=1)  # what the API shows: overdue
        assert p.fire_at is not None and started <= p.fire_at < started + timedelta(minutes=5)
    # One run per pair, however many intervals were missed; once it ran, the next is due an
    # interval later.
    late = T0 + timedelta(minutes=5)
    assert len(due.due_now(pairs, late)) == 2
    ran = {p.entity_type.value: p.fire_at for p in pairs}
    again = _pairs(conn, ran, now=late, since=started)  # type: ignore[arg-type]
    assert due.due_now(again, late) == []
    assert all(p.fire_at == ran[p.entity_type.value] + timedelta(hours=1) for p in again)  # type: ignore[operator]


def test_inactive_and_shortened_minutes() -> None:
    assert all(p.fire_at is None for p in _pairs(_conn(is_active=False), {}, now=T0, since=T0))
    fast = due.Timing(minute=timedelta(seconds=1), max_jitter=timedelta(seconds=1))
    conn = _conn(sync_interval_minutes=5)
    pairs = due.pairs_of(
        conn,
        {(conn.id, "work_order", "outbound"): T0},
        now=T0,
        since=T0 - timedelta(hours=1),
        timing=fast,
    )
    wo = next(p for p in pairs if p.entity_type is EntityType.work_order)
    assert wo.fire_at == T0 + timedelta(seconds=5)


def test_retry_policy_and_abandoned_marker() -> None:
    policy = RetryPolicy(attempts=3, delay=timedelta(seconds=10))
    assert [policy.wait_after(a) for a in (1, 2, 3)] == [
        timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40),
    ]  # fmt: skip
    # The stalled checker recognises the message expire_stale_leases writes.
    import inspect

    assert ABANDONED_MARK in inspect.getsource(runs.expire_stale_leases)
