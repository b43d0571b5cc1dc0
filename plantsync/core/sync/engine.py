"""The sync engine: one run of one connection, entity type and direction.

Entry points:

- ``run_sync(log_id)`` — the executor's runner (see ``executor.py``): called for a log already
  ``in_progress`` and claimed; it closes the log with ``runs.finish``:

  * ``skipped`` — the connection is inactive, or an outbound run found nothing changed
    (the message says which);
  * ``success`` — the run went through and no record failed; an inbound run with no new rows
    is a success with 0 written;
  * ``partial`` — the run went through, some records failed alone (counted in
    ``records_failed`` and listed) and the others were written;
  * ``failed`` — every record the run tried failed, or the run itself could not proceed
    (credentials, authorisation, ERP unavailable after retries, a broken mapping or
    configuration): the message says which and what to do. What was committed before stays;
    the next run continues from there.

- ``dry_run(...)`` — what a run would send (outbound payloads) or change (inbound upserts),
  without sending or writing anything.

Settings (to decrypt credentials) and the way connectors are built can be bound for a block
(``bind_settings``, ``bind_connector_factory``); by default they are the process settings and
the registry's ``build_connector``.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from plantsync.connectors.base import Connector, ConnectorConfig
from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.integration import Connection, SyncLog, SyncStatus
from plantsync.core.sync import current_database, inbound, outbound, runs
from plantsync.core.sync.context import LeaseLostError, RunContext
from plantsync.entities import Direction, EntityType
from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ERPPermissionError,
    FatalError,
    PlantSyncError,
    RetriableError,
)
from plantsync.mappings.schema import MappingError

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[ConnectorConfig], Connector]

_settings: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "plantsync_sync_settings", default=None
)
_factory: contextvars.ContextVar[ConnectorFactory | None] = contextvars.ContextVar(
    "plantsync_sync_connector_factory", default=None
)


@contextmanager
def bind_settings(settings: Settings) -> Iterator[None]:
    """Runs in this block decrypt credentials with ``settings`` (a test hub, a CLI's)."""
    token = _settings.set(settings)
    try:
        yield
    finally:
        _settings.reset(token)


@contextmanager
def bind_connector_factory(factory: ConnectorFactory) -> Iterator[None]:
    """Runs in this block build their connector with ``factory`` (tests: fast retries)."""
    token = _factory.set(factory)
    try:
        yield
    finally:
        _factory.reset(token)


def _current_settings() -> Settings:
    bound = _settings.get()
    if bound is not None:
        return bound
    from plantsync.core.config import get_settings

    return get_settings()


def _build_connector(config: ConnectorConfig) -> Connector:
    factory = _factory.get()
    if factory is not None:
        return factory(config)
    from plantsync.connectors.registry import build_connector

    return build_connector(config)


def _context(
    database: Database,
    connection: Connection,
    entity: EntityType,
    direction: Direction,
    **extra: Any,
) -> RunContext:
    from plantsync.core.sync.setup import prepare_run

    settings = _current_settings()
    prepared = prepare_run(connection, settings)
    return RunContext(
        database=database,
        connection=connection,
        entity=entity,
        direction=direction,
        provider_mapping=prepared.mapping,
        connector=_build_connector(prepared.config),
        secrets=prepared.secrets,
        lease_seconds=settings.sync_lease_seconds,
        **extra,
    )


# --- run_sync ---------------------------------------------------------------------------------


def run_sync(log_id: uuid.UUID, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Runs the claimed log ``log_id`` to its end and closes it (see the module docstring)."""
    database = current_database()
    with database.read_session() as session:
        sync_log = session.get(SyncLog, log_id)
        connection = session.get(Connection, sync_log.connection_id) if sync_log else None
    if sync_log is None or connection is None or sync_log.status != SyncStatus.in_progress:
        log.warning("sync run %s is not an in-progress run: nothing to do", log_id)
        return
    if not connection.is_active or connection.archived_at is not None:
        state = "archived" if connection.archived_at else "inactive"
        _close(
            database,
            sync_log,
            SyncStatus.skipped,
            f"Skipped: the connection {connection.name!r} is {state}.",
            None,
            clock,
        )
        return
    ctx: RunContext | None = None
    try:
        ctx = _context(
            database, connection, sync_log.entity_type, sync_log.direction, log_id=log_id,
            worker_id=sync_log.worker_id, entity_id=sync_log.entity_id,
            trigger=sync_log.trigger, clock=clock,
        )  # fmt: skip
        status, message = _execute(ctx)
    except LeaseLostError:
        log.warning("sync run %s lost its lease: stopping without closing it", log_id)
        return
    except (PlantSyncError, ValueError) as exc:
        status, message = SyncStatus.failed, _failure_message(exc, connection, ctx)
    finally:
        if ctx is not None:
            ctx.connector.close()
    _close(database, sync_log, status, message, ctx, clock)


def _execute(ctx: RunContext) -> tuple[SyncStatus, str]:
    if ctx.direction is Direction.outbound:
        attempted, summary = outbound.run(ctx)
        if not attempted:
            start = ctx.connection.outbound_start_from.isoformat(timespec="seconds")
            reason = (
                # Name the window too: on a new connection "since the last run" alone leaves an
                # admin wondering why the plant's existing records were not sent.
                f"no change since the last run; records last changed before the connection's "
                f"outbound_start_from ({start}) are never sent, an earlier --start-from "
                "backfills them"
                if ctx.counts.skipped == 0
                else f"{ctx.counts.skipped} changed record(s) are unchanged since last sent"
            )
            return SyncStatus.skipped, f"Skipped: nothing to send ({reason})."
    else:
        summary = inbound.run(ctx)
    status = SyncStatus.of_counts(written=ctx.counts.written, failed=ctx.counts.failed)
    return status, _with_notes(ctx, summary)


def _with_notes(ctx: RunContext, summary: str) -> str:
    if not ctx.notes:
        return summary
    return summary + " Notes: " + "; ".join(ctx.notes)


def _close(
    database: Database,
    sync_log: SyncLog,
    status: SyncStatus,
    message: str,
    ctx: RunContext | None,
    clock: Clock,
) -> None:
    counts = ctx.counts.frozen() if ctx else runs.RunCounts()
    errors = ctx.pending_errors if ctx else []
    with database.write_session() as session:
        try:
            runs.finish(
                sync_log.id, status, counts, message, errors, session=session, clock=clock,
                worker_id=sync_log.worker_id,
            )  # fmt: skip
        except PlantSyncError as exc:  # closed meanwhile (lease expired): that verdict stands
            log.warning("sync run %s could not be closed: %s", sync_log.id, exc.message)


def _failure_message(exc: Exception, connection: Connection, ctx: RunContext | None) -> str:
    text = exc.message if isinstance(exc, PlantSyncError) else str(exc)
    if ctx is not None:
        text = ctx.scrub(text)
    name = connection.name
    kept = " Records committed before the failure are kept; the next run continues from there."
    if isinstance(exc, ERPAuthenticationError):
        return (
            f"The ERP refused the credentials of connection {name!r}: {text}. Update its "
            f"auth_config (plantsync connections update {name} --auth-config-file FILE) and retry."
        )
    if isinstance(exc, ERPPermissionError):
        return (
            f"The ERP account of connection {name!r} lacks an authorisation: {text}. Ask the ERP "
            "administrators to grant it, then retry."
        )
    if isinstance(exc, RetriableError):
        return f"The ERP was unavailable after retries: {text}.{kept} Retry later."
    if isinstance(exc, MappingError):
        return (
            f"The mapping of connection {name!r} is broken: {text}. Fix its field_mappings "
            "(plantsync mappings show) and retry."
        )
    if isinstance(exc, FatalError | ConnectorError):
        return (
            f"Connection {name!r} is misconfigured: {text}. Check its base_url, TLS settings and "
            f"field_mappings (plantsync connections test {name}).{kept}"
        )
    return f"The run could not proceed: {text}.{kept}"


# --- dry_run ----------------------------------------------------------------------------------


@dataclass
class DryRunReport:
    """What a run would do. ``items``: outbound ``{local_id, action, erp_key, reference,
    payload}``; inbound ``{erp_key, action, record}``."""

    connection_id: uuid.UUID
    direction: Direction
    entity_type: EntityType
    items: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def dry_run(
    *,
    database: Database,
    tenant_id: uuid.UUID,
    connection: str | uuid.UUID,
    direction: Direction,
    entity_type: EntityType,
    entity_id: str | None = None,
    limit: int = 1000,
    settings: Settings | None = None,
) -> DryRunReport:
    """What a run would send or change, without sending or writing (outbound reads only the
    database; inbound reads the ERP).

    Raises:
        NotFoundError: no such connection. BadRequestError: the pair is not supported.
        ConnectorError, MappingError: the ERP or the mapping cannot be used.
    """
    from plantsync.core.services.connections import get_connection
    from plantsync.core.sync import check_pair

    with database.read_session() as session:
        conn = get_connection(session=session, tenant_id=tenant_id, connection=connection)
    check_pair(conn.provider, entity_type, direction)
    token = _settings.set(settings) if settings is not None else None
    try:
        ctx = _context(database, conn, entity_type, direction, entity_id=entity_id, dry=True)
    finally:
        if token is not None:
            _settings.reset(token)
    report = DryRunReport(conn.id, direction, entity_type)
    with ctx.connector:
        if direction is Direction.outbound:
            _preview_outbound(ctx, report, limit)
        else:
            _preview_inbound(ctx, report, limit)
    report.failures = [
        {"local_id": e.local_id, "erp_key": e.erp_key, "code": e.code, "message": e.message}
        for e in ctx.pending_errors
    ]
    report.notes = ctx.notes
    actions: dict[str, int] = {}
    for item in report.items:
        actions[item["action"]] = actions.get(item["action"], 0) + 1
    report.counts = {**actions, "failed": len(report.failures)}
    return report


def _preview_outbound(ctx: RunContext, report: DryRunReport, limit: int) -> None:
    if ctx.entity_id is None and not outbound.await_settled(ctx):
        # Same wait as a run: on PostgreSQL the change feed stops below the oldest open
        # transaction of the cluster, so without it a preview taken while any other
        # transaction is open would leave out changes committed just before it.
        ctx.note(
            "changes of database transactions still open when the preview started are not "
            "shown; a run started later sends them"
        )
    with ctx.database.read_session() as session:
        if ctx.entity_id is not None:
            rows = outbound.rows_by_id(session, ctx, [uuid.UUID(ctx.entity_id)])
            _add(report, outbound.plan(session, ctx, rows), limit)
            return
        _add(report, _plan_ids(session, ctx, outbound.unsettled_ids(session, ctx)), limit)
        _row, mark = outbound.load_mark(session, ctx)
        more = True
        while more and not report.truncated:
            rows, mark, more = outbound.feed_page(session, ctx, mark)
            _add(report, outbound.plan(session, ctx, rows), limit)


def _plan_ids(
    session: Session, ctx: RunContext, ids: list[uuid.UUID]
) -> list[outbound.OutboundItem]:
    return outbound.plan(session, ctx, outbound.rows_by_id(session, ctx, ids)) if ids else []


def _preview_inbound(ctx: RunContext, report: DryRunReport, limit: int) -> None:
    with ctx.database.read_session() as session:
        since = inbound.start_cursor(session, ctx)
    seen = inbound.RecentHashes()
    for page in ctx.connector.pull(ctx.entity, since=since):
        records = [r for r in page.records if ctx.entity_id is None or r.key == ctx.entity_id]
        with ctx.database.read_session() as session:
            _add(report, inbound.plan(session, ctx, inbound.dedupe(records, seen), seen), limit)
        if page.note:
            ctx.note(page.note)
        if report.truncated:
            return


def _add(report: DryRunReport, items: list[Any], limit: int) -> None:
    seen = {(i.get("local_id"), i.get("erp_key")) for i in report.items} if report.items else set()
    for item in items:
        described = item.describe()
        if (described.get("local_id"), described.get("erp_key")) in seen:
            continue
        if len(report.items) >= limit:
            report.truncated = True
            return
        report.items.append(described)


__all__ = [
    "ConnectorFactory",
    "DryRunReport",
    "bind_connector_factory",
    "bind_settings",
    "dry_run",
    "run_sync",
]
