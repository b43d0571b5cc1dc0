"""Prometheus metrics (``GET /metrics``, text format via prometheus_client).

Run metrics are read from the database at scrape time, so every API node shows the whole
fleet's runs however many workers executed them (no per-process counters to add up). They
cover the runs requested in the last ``WINDOW`` (index range scans on ``created_at``, cheap at
millions of rows) plus every run still pending or in progress; a scrape result is reused for
``CACHE_SECONDS``.

- ``plantsync_sync_runs{status}``                       runs by status (window + active)
- ``plantsync_sync_run_duration_seconds``               histogram of finished runs (window)
- ``plantsync_sync_records{kind=read|written|failed}``  records of the window's runs
- ``plantsync_sync_queue_depth{queue}``                 pending runs; jobs waiting/running
- ``plantsync_connection_last_success_timestamp_seconds{tenant_id,connection_id,connection}``
- ``plantsync_connection_consecutive_failures`` and ``plantsync_connection_degraded``
- ``plantsync_scheduler_active``                        1 when a scheduler leads (or embedded)
- ``plantsync_http_request_duration_seconds{method,route,status}`` this API process's latency
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session, col, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.db import Database
from plantsync.core.models.integration import (
    ACTIVE_STATUSES,
    WORKING_STATUSES,
    Connection,
    SyncLog,
    SyncStatus,
)
from plantsync.core.services.connections import consecutive_failures

WINDOW = timedelta(hours=24)
CACHE_SECONDS = 5.0
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Snapshot:
    runs: dict[str, int] = field(default_factory=dict)
    duration_buckets: list[int] = field(default_factory=list)
    duration_count: int = 0
    duration_sum: float = 0.0
    records: dict[str, int] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=dict)
    connections: list[dict[str, Any]] = field(default_factory=list)
    scheduler_active: int | None = None


def _runs_by_status(session: Session, since: Any) -> dict[str, int]:
    counts = {s.value: 0 for s in SyncStatus}
    recent = session.exec(
        select(SyncLog.status, func.count())
        .where(col(SyncLog.created_at) >= since)
        .group_by(col(SyncLog.status))
    ).all()
    for status, n in recent:
        counts[SyncStatus(status).value] = int(n)
    active = session.exec(
        select(SyncLog.status, func.count())
        .where(col(SyncLog.status).in_(ACTIVE_STATUSES))
        .group_by(col(SyncLog.status))
    ).all()
    for status, n in active:
        counts[SyncStatus(status).value] = int(n)
    return counts


def _durations(session: Session, since: Any) -> tuple[list[int], int, float]:
    seconds = col(SyncLog.duration_ms) / 1000.0
    columns = [func.sum(sa.case((seconds <= b, 1), else_=0)) for b in DURATION_BUCKETS]
    row: Any = session.exec(
        select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns).where(
            col(SyncLog.created_at) >= since,
            col(SyncLog.duration_ms).is_not(None),
            col(SyncLog.status).not_in(ACTIVE_STATUSES),
        )
    ).one()
    counts: list[int] = [int(v or 0) for v in row[2:]]
    return counts, int(row[0]), float(row[1] or 0.0)


def _records(session: Session, since: Any) -> dict[str, int]:
    row = session.exec(
        select(
            func.coalesce(func.sum(SyncLog.records_read), 0),
            func.coalesce(func.sum(SyncLog.records_written), 0),
            func.coalesce(func.sum(SyncLog.records_failed), 0),
        ).where(col(SyncLog.created_at) >= since)
    ).one()
    return {"read": int(row[0]), "written": int(row[1]), "failed": int(row[2])}


def _connections(session: Session, degraded_after: int) -> list[dict[str, Any]]:
    conns = session.exec(select(Connection).where(col(Connection.archived_at).is_(None))).all()
    last_ok = dict(
        session.exec(
            select(SyncLog.connection_id, func.max(SyncLog.finished_at))
            .where(col(SyncLog.status).in_(WORKING_STATUSES))
            .group_by(col(SyncLog.connection_id))
        ).all()
    )
    out: list[dict[str, Any]] = []
    for c in conns:
        failures = consecutive_failures(session=session, connection=c, limit=degraded_after)
        ok = last_ok.get(c.id)
        out.append(
            {
                "labels": [str(c.tenant_id), str(c.id), c.name],
                "last_success": ok.timestamp() if ok is not None else None,
                "failures": failures,
                "degraded": failures >= degraded_after,
            }
        )
    return out


class SyncCollector(Collector):
    """Collects the run metrics from the database (see the module docstring).

    Args:
        queue_state: returns ``{"jobs_waiting": n, "jobs_running": n}`` (queue mode) or {}.
        scheduler_active: returns 1/0 (None: unknown, the metric is left out).
    """

    def __init__(
        self,
        database: Database,
        *,
        degraded_after: int,
        queue_state: Callable[[], dict[str, int]] = dict,
        scheduler_active: Callable[[], int | None] = lambda: None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.database = database
        self.degraded_after = degraded_after
        self.queue_state = queue_state
        self.scheduler_active = scheduler_active
        self.clock = clock
        self._cached: tuple[float, Snapshot] | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            snap = self._read()
            self._cached = (time.monotonic(), snap)
            return snap

    def _read(self) -> Snapshot:
        since = self.clock.now() - WINDOW
        with self.database.read_session() as session:
            runs = _runs_by_status(session, since)
            buckets, count, total = _durations(session, since)
            records = _records(session, since)
            conns = _connections(session, self.degraded_after)
        queue = {"pending_runs": runs.get(SyncStatus.pending.value, 0), **self.queue_state()}
        return Snapshot(
            runs=runs, duration_buckets=buckets, duration_count=count, duration_sum=total,
            records=records, queue=queue, connections=conns,
            scheduler_active=self.scheduler_active(),
        )  # fmt: skip

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        runs = GaugeMetricFamily(
            "plantsync_sync_runs",
            "Sync runs requested in the last 24 h by status (pending/in_progress: all).",
            labels=["status"],
        )
        for status, n in sorted(snap.runs.items()):
            runs.add_metric([status], n)
        yield runs
        yield self._duration(snap)
        records = GaugeMetricFamily(
            "plantsync_sync_records",
            "Records read/written/failed by the runs of the last 24 h.",
            labels=["kind"],
        )
        for kind, n in snap.records.items():
            records.add_metric([kind], n)
        yield records
        queue = GaugeMetricFamily(
            "plantsync_sync_queue_depth", "Runs and jobs waiting to execute.", labels=["queue"]
        )
        for name, n in sorted(snap.queue.items()):
            queue.add_metric([name], n)
        yield queue
        yield from self._per_connection(snap)
        if snap.scheduler_active is not None:
            yield GaugeMetricFamily(
                "plantsync_scheduler_active",
                "1 when a scheduler is active for this hub.",
                value=snap.scheduler_active,
            )

    @staticmethod
    def _duration(snap: Snapshot) -> HistogramMetricFamily:
        buckets: list[tuple[str, float]] = [
            (repr(b), float(n))
            for b, n in zip(DURATION_BUCKETS, snap.duration_buckets, strict=True)
        ]
        buckets.append(("+Inf", float(snap.duration_count)))
        return HistogramMetricFamily(
            "plantsync_sync_run_duration_seconds",
            "Duration of the sync runs finished in the last 24 h.",
            buckets=buckets,
            sum_value=snap.duration_sum,
        )

    @staticmethod
    def _per_connection(snap: Snapshot) -> Iterator[Metric]:
        labels = ["tenant_id", "connection_id", "connection"]
        last = GaugeMetricFamily(
            "plantsync_connection_last_success_timestamp_seconds",
            "When the connection's last successful or partial run finished (Unix time).",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "plantsync_connection_consecutive_failures",
            "Failed runs in a row (counted up to the degraded threshold).",
            labels=labels,
        )
        degraded = GaugeMetricFamily(
            "plantsync_connection_degraded",
            "1 when the connection's last runs all failed (degraded_after_failures).",
            labels=labels,
        )
        for c in snap.connections:
            if c["last_success"] is not None:
                last.add_metric(c["labels"], c["last_success"])
            failures.add_metric(c["labels"], c["failures"])
            degraded.add_metric(c["labels"], 1 if c["degraded"] else 0)
        yield last
        yield failures
        yield degraded


# --- API latency -------------------------------------------------------------------------------


def latency_histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "plantsync_http_request_duration_seconds",
        "API request latency by method, route template and status.",
        labelnames=["method", "route", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )


class RequestLatency:
    """ASGI middleware: observes each HTTP request's duration under its route template
    (``/api/v1/machines/{machine_id}``, never the raw path: bounded label values)."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.histogram.labels(scope.get("method", "?"), template, str(status)).observe(
                time.perf_counter() - started
            )
