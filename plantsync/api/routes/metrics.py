"""``GET /metrics``: Prometheus text format (see ``plantsync.scheduler.metrics``).

Unauthenticated like the health probes, for the scraper on the operations network; it shows
connection names and ids, no secrets — restrict it at the reverse proxy when the API is public.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from plantsync.scheduler.metrics import RequestLatency, SyncCollector, latency_histogram
from plantsync.scheduler.status import queue_counts, scheduler_active

router = APIRouter(tags=["operations"])


def install_metrics(app: FastAPI) -> None:
    """Gives ``app`` its own registry (run metrics, request latency) and the middleware."""
    state = app.state
    registry = CollectorRegistry()
    state.metrics_registry = registry
    app.add_middleware(RequestLatency, histogram=latency_histogram(registry))
    registry.register(
        SyncCollector(
            state.database,
            degraded_after=state.settings.degraded_after_failures,
            queue_state=lambda: queue_counts(state.database, state.settings),
            scheduler_active=lambda: scheduler_active(
                state.database, state.settings, getattr(state, "scheduler", None)
            ),
            clock=state.clock,
        )
    )


_SCRAPE = (
    "# HELP plantsync_sync_runs Sync runs requested in the last 24 h by status "
    "(pending/in_progress: all).\n"
    "# TYPE plantsync_sync_runs gauge\n"
    'plantsync_sync_runs{status="failed"} 2.0\n'
    'plantsync_sync_runs{status="success"} 128.0\n'
    "# HELP plantsync_connection_degraded 1 when the connection's last runs all failed "
    "(degraded_after_failures).\n"
    "# TYPE plantsync_connection_degraded gauge\n"
    'plantsync_connection_degraded{connection="SAP Production",'
    'connection_id="1e3a5c7e-9a1c-4e3a-8c5e-7a9c1e3a5c68",'
    'tenant_id="a7c9e1f3-5b2d-4e6f-8a0b-1c3d5e7f9a2b"} 0.0\n'
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}, "example": _SCRAPE}},
        }
    },
)
def metrics(request: Request) -> Response:
    """Run counts by status, run durations, records, queue depth, last success and health per
    connection, API latencies — in the Prometheus text exposition format."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
