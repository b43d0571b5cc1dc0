"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from plantsync.api.deps import DatabaseDep, SettingsDep
from plantsync.api.docs import answers

router = APIRouter(tags=["health"])


@router.get("/healthz", responses=answers({"status": "ok"}))
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


_READY = {
    "status": "ready", "database": "ok", "executor": "queue",
    "scheduler": {"active": True, "here": True, "role": "leader",
                  "leading_since": "2026-03-02T05:58:12+00:00",
                  "last_tick_at": "2026-03-02T06:00:00+00:00", "runs_requested": 42,
                  "last_error": None},
    "queue": {"available": True, "jobs_waiting": 0, "jobs_running": 1},
}  # fmt: skip
_UNREADY = {"status": "unavailable", "database": "unreachable: OperationalError"}


@router.get(
    "/readyz",
    responses=answers(_READY)
    | answers(_UNREADY, 503, "The database is not reachable or its migrations are not at head"),
)
def readyz(db: DatabaseDep, settings: SettingsDep, request: Request) -> Any:
    """Ready when this process's own dependency, the database, answers and is at head.

    The scheduler's and the queue's state are reported in the body but never make the node
    unready: a scheduler outage must not take API nodes (and andon calls) out of rotation.
    """
    from plantsync.core.migrate import is_at_head

    try:
        with db.read_session() as session:
            session.execute(text("SELECT 1"))
        at_head = is_at_head(db)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    from plantsync.scheduler.status import background_state

    background = background_state(db, settings, getattr(request.app.state, "scheduler", None))
    if not at_head:
        return JSONResponse(
            {"status": "unavailable", "database": "migrations are not at head", **background},
            status_code=503,
        )
    return {"status": "ready", "database": "ok", **background}
