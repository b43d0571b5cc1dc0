"""What the scheduler reports: per connection and entity (``plantsync scheduler status``) and
for the hub (``/readyz`` body, metrics) — never an exception: a scheduler or queue outage is
reported, not raised, so it cannot take an API node out of its load balancer.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.integration import SyncStatus
from plantsync.core.services.connections import consecutive_failures
from plantsync.core.services.sync_logs import schedule_for
from plantsync.entities import Direction, EntityType
from plantsync.scheduler import due
from plantsync.scheduler.embedded import SchedulerService

log = logging.getLogger(__name__)


class ScheduleRow(BaseModel):
    """One (connection, entity, direction): the connection API's ``schedule`` entry plus
    when the scheduler fires it (``fire_at``: ``next_sync_at`` with the jitter applied)."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    connection: str
    is_active: bool
    degraded: bool
    direction: Direction
    entity_type: EntityType
    last_sync_at: datetime | None
    last_status: SyncStatus | None
    last_log_id: uuid.UUID | None
    next_sync_at: datetime | None
    fire_at: datetime | None


def schedule_rows(
    database: Database,
    settings: Settings,
    *,
    tenant_id: uuid.UUID | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[ScheduleRow]:
    """Every live connection's pairs (of one tenant, or all), as the scheduler sees them.

    ``fire_at`` assumes a scheduler running since now (a missed run fires within the
    jitter window of its start).
    """
    timing = due.Timing.from_settings(settings)
    now = clock.now()
    rows: list[ScheduleRow] = []
    with database.read_session() as session:
        pairs = due.plan(session, now=now, since=now, timing=timing, tenant_id=tenant_id)
        fire = {(p.connection_id, p.direction, p.entity_type): p.fire_at for p in pairs}
        for conn in due.live_connections(session, tenant_id):
            failures = consecutive_failures(
                session=session, connection=conn, limit=settings.degraded_after_failures
            )
            for entry in schedule_for(
                session=session, connection=conn, clock=clock, minute=timing.minute
            ):
                rows.append(
                    ScheduleRow(
                        tenant_id=conn.tenant_id, connection_id=conn.id, connection=conn.name,
                        is_active=conn.is_active,
                        degraded=failures >= settings.degraded_after_failures,
                        direction=entry.direction, entity_type=entry.entity_type,
                        last_sync_at=entry.last_sync_at, last_status=entry.last_status,
                        last_log_id=entry.last_log_id, next_sync_at=entry.next_sync_at,
                        fire_at=fire.get((conn.id, entry.direction, entry.entity_type)),
                    )
                )  # fmt: skip
    return rows


def background_state(
    database: Database, settings: Settings, scheduler: SchedulerService | None
) -> dict[str, Any]:
    """The scheduler's and the queue's state for ``/readyz``'s body (never raises)."""
    state: dict[str, Any] = {"executor": settings.executor}
    state["scheduler"] = _scheduler_state(database, settings, scheduler)
    if not settings.is_sqlite:
        state["queue"] = _queue_state(database)
    return state


def scheduler_active(
    database: Database, settings: Settings, scheduler: SchedulerService | None
) -> int | None:
    """1 when a scheduler leads for this hub, 0 when none does, None when unknown."""
    found = _scheduler_state(database, settings, scheduler).get("active")
    return None if found is None else int(bool(found))


def _scheduler_state(
    database: Database, settings: Settings, scheduler: SchedulerService | None
) -> dict[str, Any]:
    if scheduler is not None and scheduler.role != "standby":
        return {"active": True, "here": True, **scheduler.state()}
    if settings.is_sqlite:
        return {"active": False, "here": False, "role": "none"}
    try:
        from plantsync.scheduler.leader import lock_holder_pid

        pid = lock_holder_pid(database.url)
    except Exception as exc:
        return {"active": None, "error": f"cannot check: {type(exc).__name__}"}
    found: dict[str, Any] = {"active": pid is not None, "here": False}
    if scheduler is not None:
        found.update(scheduler.state())
    return found


def _queue_state(database: Database) -> dict[str, Any]:
    try:
        from plantsync.scheduler.queue import queue_depth

        depth = queue_depth(database)
    except Exception as exc:
        return {"available": False, "error": f"cannot read: {type(exc).__name__}"}
    if depth is None:
        return {"available": False, "error": "the queue's tables do not exist yet"}
    return {"available": True, "jobs_waiting": depth.waiting, "jobs_running": depth.running}


def queue_counts(database: Database, settings: Settings) -> dict[str, int]:
    """Jobs waiting/running on the queue for metrics ({} on SQLite or without the queue)."""
    if settings.is_sqlite:
        return {}
    state = _queue_state(database)
    if not state.get("available"):
        return {}
    return {"jobs_waiting": state["jobs_waiting"], "jobs_running": state["jobs_running"]}
