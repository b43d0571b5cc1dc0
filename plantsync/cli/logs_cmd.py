"""``plantsync logs [--connection C] [--status S] [--limit N] [--follow] [--json]``, plus
``plantsync logs show LOG_ID``, ``plantsync logs retry LOG_ID [--wait]`` and
``plantsync logs prune [--days N]``."""

from __future__ import annotations

import json
import sys
import time
import uuid

import typer

from plantsync.cli.common import TenantOption, database, print_json, print_table, settings, stderr
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.models.integration import SyncStatus
from plantsync.core.principal import Principal
from plantsync.core.services import sync_logs
from plantsync.core.services.connections import get_connection
from plantsync.core.services.sync_logs import LogFilters, SyncLogPublic
from plantsync.core.services.tenants import resolve_tenant
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from plantsync.errors import ValidationError

logs_app = typer.Typer(help="Sync logs: list, follow, show one, retry one, prune old ones.")
FOLLOW_SECONDS = 2.0


def _connection_id(
    session: object, tenant_id: uuid.UUID, connection: str | None
) -> uuid.UUID | None:
    if connection is None:
        return None
    try:
        return uuid.UUID(connection)  # archived connections' logs stay reachable by id
    except ValueError:
        return get_connection(session=session, tenant_id=tenant_id, connection=connection).id  # type: ignore[arg-type]


def _rows(items: list[SyncLogPublic]) -> list[tuple[object, ...]]:
    return [(i.created_at.isoformat(timespec="seconds"), i.id, i.status.value, i.direction.value,
             i.entity_type.value, i.trigger.value, i.records_read, i.records_written,
             i.records_failed, i.message or "") for i in items]  # fmt: skip


COLUMNS = [
    "requested",
    "id",
    "status",
    "direction",
    "entity",
    "trigger",
    "read",
    "written",
    "failed",
    "message",
]


@logs_app.callback(invoke_without_command=True)
def logs(
    ctx: typer.Context,
    connection: str | None = typer.Option(None, "--connection", help="Connection id or name."),
    status: SyncStatus | None = typer.Option(None, "--status"),
    direction: Direction | None = typer.Option(None, "--direction"),
    entity: EntityType | None = typer.Option(None, "--entity"),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="How many, newest first."),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new and changed runs."
    ),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(
        False, "--json", help="JSON (with --follow: one object per line)."
    ),
) -> None:
    """List sync logs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    db = database()
    with db.read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        filters = LogFilters(connection_id=_connection_id(session, target.id, connection),
                             status=status, direction=direction, entity_type=entity)  # fmt: skip
        page = sync_logs.list_logs(
            session=session, tenant_id=target.id, filters=filters, limit=limit
        )
    if not follow:
        if json_out:
            print_json(page)
        else:
            print_table(COLUMNS, _rows(page.items))
        return
    _follow(target.id, filters, list(reversed(page.items)), json_out)


def _follow(
    tenant_id: uuid.UUID, filters: LogFilters, first: list[SyncLogPublic], json_out: bool
) -> None:
    seen: dict[uuid.UUID, str] = {}

    def emit(items: list[SyncLogPublic]) -> None:
        for item in items:
            state = f"{item.status.value}:{item.records_read}:{item.records_written}"
            if seen.get(item.id) == state:
                continue
            seen[item.id] = state
            if json_out:
                sys.stdout.write(json.dumps(item.model_dump(mode="json")) + "\n")
            else:
                typer.echo("  ".join(str(v) for v in _rows([item])[0]))
            sys.stdout.flush()

    emit(first)
    stderr.print("Following new runs (Ctrl-C to stop)...", highlight=False)
    db = database()
    try:
        while True:
            time.sleep(FOLLOW_SECONDS)
            with db.read_session() as session:
                page = sync_logs.list_logs(
                    session=session, tenant_id=tenant_id, filters=filters, limit=100
                )
            emit(list(reversed(page.items)))
    except KeyboardInterrupt:
        return


@logs_app.command("show")
def show(
    log_id: str = typer.Argument(..., help="The log id."),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON (the API's body)."),
) -> None:
    """One run with its per-record errors."""
    try:
        ident = uuid.UUID(log_id)
    except ValueError:
        raise ValidationError.single("log_id", "not a log id") from None
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        detail = sync_logs.get_log_detail(session=session, tenant_id=target.id, log_id=ident)
    if json_out:
        print_json(detail)
        return
    print_table(COLUMNS, _rows([detail]))
    print_table(["record", "erp key", "code", "message"],
                [(e.local_id, e.erp_key, e.code, e.message) for e in detail.errors])  # fmt: skip
    if detail.errors_truncated:
        stderr.print(
            f"{detail.errors_total} record errors in all; the first {len(detail.errors)} are kept."
        )


@logs_app.command("retry")
def retry(
    log_id: str = typer.Argument(..., help="The id of a failed, partial or skipped run."),
    wait: bool = typer.Option(
        False, "--wait", help="Follow the new run to its end (runs it here if needed)."
    ),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print the new log as JSON."),
) -> None:
    """Run a failed, partial or skipped run's entity (and record) again; an outbound retry also
    re-sends the records the ERP refused. Exit codes as for ``plantsync sync``."""
    from plantsync.cli.sync_cmd import follow_to_the_end

    try:
        ident = uuid.UUID(log_id)
    except ValueError:
        raise ValidationError.single("log_id", "not a log id") from None
    db = database()
    with db.session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        log, _ = runs.retry_log(session=session, tenant_id=target.id, log_id=ident,
                                principal=Principal.system(target.id), clock=SYSTEM_CLOCK)  # fmt: skip
    if wait:
        follow_to_the_end(db, target.id, log.id, json_out=json_out)
    if json_out:
        with db.read_session() as session:
            print_json(
                sync_logs.get_log_detail(session=session, tenant_id=target.id, log_id=log.id)
            )
    else:
        typer.echo(str(log.id))


@logs_app.command("prune")
def prune(
    days: int | None = typer.Option(
        None, "--days", min=1, help="Keep this many days (default: PLANTSYNC_LOG_RETENTION_DAYS)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete finished sync logs older than the retention period (all tenants)."""
    keep = days or settings().log_retention_days
    with database().session(write=True) as session:
        deleted = sync_logs.prune_logs(session=session, retention_days=keep, clock=SYSTEM_CLOCK)
    if json_out:
        print_json({"deleted": deleted, "retention_days": keep})
    else:
        stderr.print(f"Deleted {deleted} sync logs older than {keep} days.", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(logs_app, name="logs")
