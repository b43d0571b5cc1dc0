"""When sync runs are due: the database decides, the scheduler only looks.

Each active connection runs each of its ``sync_entities`` pairs every
``sync_interval_minutes``. Nothing about that lives in memory: every tick the scheduler reads
the connections and the last run of each pair, so a change made through any API node or the
CLI (interval, entities, activation, deletion) counts at the next tick, and a restart loses
nothing.

For one pair::

    due    = sync_logs.next_sync_at(...)      last run's request time + interval (the API's
                                              ``next_sync_at``; never ran: the creation time)
    offset = window * fraction(sha256(connection id, direction, entity))
    window = min(scheduler_jitter_seconds, interval / 2)
    fire   = due + offset      when the pair never ran (100 new connections do not fire at once)
           = since + offset    when due < since, the moment this scheduler started: runs missed
                               while the hub was down become ONE run (coalesced), spread over
                               the window instead of a burst at start
           = due               otherwise: the phase set by the first run carries on

The offset is deterministic, so every scheduler instance (and ``plantsync scheduler status``)
computes the same times.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.connections import SyncEntity
from plantsync.core.models.integration import Connection, SyncLog, SyncTrigger
from plantsync.core.services.sync_logs import next_sync_at
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from plantsync.errors import PlantSyncError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    """The scheduler's time settings: one interval minute and the largest jitter window."""

    minute: timedelta = timedelta(minutes=1)
    max_jitter: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        return cls(
            minute=timedelta(seconds=settings.scheduler_minute_seconds),
            max_jitter=timedelta(seconds=settings.scheduler_jitter_seconds),
        )


@dataclass(frozen=True)
class DuePair:
    """One (connection, direction, entity) with its due time and when it fires."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    connection_name: str
    direction: Direction
    entity_type: EntityType
    last_run_at: datetime | None
    next_sync_at: datetime | None
    fire_at: datetime | None


def jitter_fraction(connection_id: uuid.UUID, direction: Direction, entity: EntityType) -> float:
    """A stable number in [0, 1) per pair (not random: every process computes the same)."""
    digest = hashlib.sha256(f"{connection_id}:{direction.value}:{entity.value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def jitter_window(interval: timedelta, max_jitter: timedelta) -> timedelta:
    """Spread first and missed runs over at most ``max_jitter`` and half the interval."""
    return max(timedelta(0), min(max_jitter, interval / 2))


def fire_at(
    *, due: datetime | None, never_ran: bool, since: datetime, offset: timedelta
) -> datetime | None:
    """When the scheduler requests the run (see the module docstring); None: never."""
    if due is None:
        return None
    fire = due + offset if never_ran else due
    if fire < since:
        return since + offset
    return fire


def live_connections(session: Session, tenant_id: uuid.UUID | None) -> list[Connection]:
    query = select(Connection).where(col(Connection.archived_at).is_(None))
    if tenant_id is not None:
        query = query.where(Connection.tenant_id == tenant_id)
    return list(session.exec(query.order_by(col(Connection.name), col(Connection.id))).all())


def _last_runs(
    session: Session, connection_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, str, str], datetime]:
    """The request time of the newest run of every pair, in one grouped query."""
    if not connection_ids:
        return {}
    rows = session.exec(
        select(
            SyncLog.connection_id,
            SyncLog.entity_type,
            SyncLog.direction,
            func.max(SyncLog.created_at),
        )
        .where(col(SyncLog.connection_id).in_(connection_ids))
        .group_by(col(SyncLog.connection_id), col(SyncLog.entity_type), col(SyncLog.direction))
    ).all()
    found: dict[tuple[uuid.UUID, str, str], datetime] = {}
    for connection_id, entity, direction, created in rows:
        if created is not None:
            found[(connection_id, str(EntityType(entity).value), Direction(direction).value)] = (
                created
            )
    return found


def pairs_of(
    connection: Connection,
    last_runs: dict[tuple[uuid.UUID, str, str], datetime],
    *,
    now: datetime,
    since: datetime,
    timing: Timing,
) -> list[DuePair]:
    """The pairs of one connection with their due and fire times."""
    interval = timing.minute * connection.sync_interval_minutes
    window = jitter_window(interval, timing.max_jitter)
    pairs: list[DuePair] = []
    for raw in connection.sync_entities:
        pair = SyncEntity.model_validate(raw)
        last = last_runs.get((connection.id, pair.entity_type.value, pair.direction.value))
        due = next_sync_at(connection=connection, last_run_at=last, now=now, minute=timing.minute)
        offset = window * jitter_fraction(connection.id, pair.direction, pair.entity_type)
        pairs.append(
            DuePair(
                tenant_id=connection.tenant_id,
                connection_id=connection.id,
                connection_name=connection.name,
                direction=pair.direction,
                entity_type=pair.entity_type,
                last_run_at=last,
                next_sync_at=due,
                fire_at=fire_at(due=due, never_ran=last is None, since=since, offset=offset),
            )
        )
    return pairs


def plan(
    session: Session,
    *,
    now: datetime,
    since: datetime,
    timing: Timing,
    tenant_id: uuid.UUID | None = None,
) -> list[DuePair]:
    """Every pair of every live connection (of ``tenant_id`` if given), read from the database.

    Inactive connections are listed with ``next_sync_at``/``fire_at`` None.
    """
    connections = live_connections(session, tenant_id)
    last_runs = _last_runs(session, [c.id for c in connections])
    pairs: list[DuePair] = []
    for connection in connections:
        pairs += pairs_of(connection, last_runs, now=now, since=since, timing=timing)
    return pairs


def due_now(pairs: Iterable[DuePair], now: datetime) -> list[DuePair]:
    """The pairs to request now, earliest first."""
    due = [p for p in pairs if p.fire_at is not None and p.fire_at <= now]
    return sorted(due, key=lambda p: (p.fire_at, str(p.connection_id)))


def request_due(
    database: Database,
    *,
    since: datetime,
    timing: Timing,
    clock: Clock = SYSTEM_CLOCK,
    guard: Callable[[], bool] = lambda: True,
) -> list[SyncLog]:
    """Requests a ``schedule`` run for every due pair; returns the runs created.

    A pair whose run is still pending or in progress gets no second one (``request_sync``
    hands back the active run). ``guard`` is asked before each request: the scale-out
    scheduler passes its leadership check, so a scheduler that lost the lock stops at once.
    """
    now = clock.now()
    with database.read_session() as session:
        due = due_now(plan(session, now=now, since=since, timing=timing), now)
    created: list[SyncLog] = []
    for pair in due:
        if not guard():
            log.warning("scheduler: lost leadership; leaving the remaining due runs")
            break
        try:
            with database.write_session() as session:
                run, new = runs.request_sync(
                    session=session, tenant_id=pair.tenant_id, connection_id=pair.connection_id,
                    direction=pair.direction, entity_type=pair.entity_type, entity_id=None,
                    trigger=SyncTrigger.schedule, principal=None, clock=clock,
                )  # fmt: skip
        except PlantSyncError as exc:  # archived or changed meanwhile: next tick sees it
            log.info("scheduler: %s %s not requested: %s", pair.connection_id, pair, exc.message)
            continue
        if new:
            created.append(run)
    return created
