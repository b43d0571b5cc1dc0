"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from plantsync.api.deps import DatabaseDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database is not reachable"}})
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
