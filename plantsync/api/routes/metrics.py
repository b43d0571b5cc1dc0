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


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Run counts by status, run durations, records, queue depth, last success and health per
    connection, API latencies — in the Prometheus text exposition format."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
