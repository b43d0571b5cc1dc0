"""``plantsync sync CONNECTION --direction D --entity E [--entity-id ID] [--wait] [--json]``.

Without ``--wait`` the run is queued (its log id is printed) for the executor. With ``--wait``
the command follows the run — and runs it in this process when no executor has claimed it,
so it works without a server — showing progress on stderr and the final log on stdout
(``--json``: exactly the ``GET /api/v1/erp/logs/{id}`` body).

``--dry-run`` prints what the run would send (outbound payloads) or change (inbound upserts)
and sends and writes nothing.

Exit codes: 0 success (or queued), 1 failed, 2 bad usage, 3 skipped, 4 partial (some records
failed, the others were written: `plantsync logs show ID` lists them).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import NoReturn

import typer

from plantsync.cli.common import EXIT_FAILED, TenantOption, database, print_json, stderr
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.db import Database
from plantsync.core.models.integration import SyncStatus, SyncTrigger
from plantsync.core.principal import Principal
from plantsync.core.services.sync_logs import SyncLogDetail, get_log_detail
from plantsync.core.services.tenants import resolve_tenant
from plantsync.core.sync import runs
from plantsync.core.sync.executor import run_in_process
from plantsync.entities import Direction, EntityType

EXIT_SKIPPED = 3
EXIT_PARTIAL = 4
POLL_SECONDS = 1.0
EXIT_BY_STATUS = {
    SyncStatus.success: 0,
    SyncStatus.partial: EXIT_PARTIAL,
    SyncStatus.failed: EXIT_FAILED,
    SyncStatus.skipped: EXIT_SKIPPED,
}


def sync(
    connection: str = typer.Argument(..., help="Connection id or name."),
    direction: Direction = typer.Option(..., "--direction", help="inbound or outbound."),
    entity: EntityType = typer.Option(
        ..., "--entity", help="work_order, production_data, downtime, machine."
    ),
    entity_id: str | None = typer.Option(
        None, "--entity-id", help="One record: the local UUID (outbound) or the ERP key (inbound)."
    ),
    wait: bool = typer.Option(
        False, "--wait", help="Follow the run to its end (runs it here if needed)."
    ),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print the log as JSON."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what the run would send or change; send and write nothing."
    ),
) -> None:
    """Trigger a sync run of one connection, entity and direction."""
    db = database()
    if dry_run:
        _dry_run(db, connection, direction, entity, entity_id, tenant, json_out)
        return
    with db.session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        log, created = runs.request_sync(
            session=session, tenant_id=target.id, connection_id=connection, direction=direction,
            entity_type=entity, entity_id=entity_id, trigger=SyncTrigger.manual,
            principal=Principal.system(target.id), clock=SYSTEM_CLOCK,
        )  # fmt: skip
    if not created:
        stderr.print(f"A run of {direction.value} {entity.value} is already {log.status.value}: "
                     f"following log {log.id}" if wait else
                     f"A run of {direction.value} {entity.value} is already {log.status.value}",
                     highlight=False)  # fmt: skip
    if not wait:
        if json_out:
            print_json(_detail(db, target.id, log.id))
        else:
            typer.echo(str(log.id))
            if created:
                stderr.print("Queued; the executor will run it.", highlight=False)
        return
    follow_to_the_end(db, target.id, log.id, json_out=json_out)


def follow_to_the_end(
    db: Database, tenant_id: uuid.UUID, log_id: uuid.UUID, *, json_out: bool
) -> NoReturn:
    """Follow a run to its end (running it here if no executor claims it), print its log and
    exit with its status's code (``EXIT_BY_STATUS``)."""
    final = _follow(db, tenant_id, log_id)
    if json_out:
        print_json(final)
    else:
        _print_summary(final)
    raise typer.Exit(EXIT_BY_STATUS.get(final.status, EXIT_FAILED))


def _dry_run(
    db: Database,
    connection: str,
    direction: Direction,
    entity: EntityType,
    entity_id: str | None,
    tenant: str | None,
    json_out: bool,
) -> None:
    from dataclasses import asdict

    from plantsync.core.sync.engine import dry_run

    with db.read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
    report = dry_run(database=db, tenant_id=target.id, connection=connection,
                     direction=direction, entity_type=entity, entity_id=entity_id)  # fmt: skip
    if json_out:
        print_json(asdict(report))
        return
    for item in report.items:
        who = item.get("local_id") or item.get("erp_key")
        body = item.get("payload") if direction is Direction.outbound else item.get("record")
        typer.echo(f"{item['action']} {who}: {json.dumps(body, default=str, sort_keys=True)}")
    for failure in report.failures:
        typer.echo(f"would fail {failure['local_id'] or failure['erp_key']}: {failure['message']}")
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items()) or "nothing"
    more = " (list truncated)" if report.truncated else ""
    stderr.print(f"Dry run, nothing sent or written: {counts}{more}", highlight=False)
    for note in report.notes:
        stderr.print(note, highlight=False)


def _detail(db: Database, tenant_id: uuid.UUID, log_id: uuid.UUID) -> SyncLogDetail:
    with db.read_session() as session:
        return get_log_detail(session=session, tenant_id=tenant_id, log_id=log_id)


def _follow(db: Database, tenant_id: uuid.UUID, log_id: uuid.UUID) -> SyncLogDetail:
    """Runs the log here when it is still pending; reports progress until it is closed."""
    runner = threading.Thread(
        target=run_in_process,
        args=(log_id,),
        kwargs={"database": db},
        name="plantsync-sync",
        daemon=True,
    )
    if _detail(db, tenant_id, log_id).status == SyncStatus.pending:
        runner.start()
    last = ""
    while True:
        current = _detail(db, tenant_id, log_id)
        line = _progress_line(current)
        if line != last:
            stderr.print(line, highlight=False)
            last = line
        if current.status not in (SyncStatus.pending, SyncStatus.in_progress):
            if runner.is_alive():
                runner.join()
            return _detail(db, tenant_id, log_id)
        if runner.is_alive():
            runner.join(POLL_SECONDS)  # returns early when the run ends here
        else:
            time.sleep(POLL_SECONDS)  # another process runs it: poll its log


def _progress_line(log: SyncLogDetail) -> str:
    counts = f"read {log.records_read}, written {log.records_written}, failed {log.records_failed}"
    extra = ""
    if log.progress:
        extra = " — " + ", ".join(f"{k} {v}" for k, v in log.progress.items())
    return f"{log.status.value}: {counts}{extra}"


def _print_summary(log: SyncLogDetail) -> None:
    typer.echo(f"{log.id} {log.status.value} {log.direction.value} {log.entity_type.value} "
               f"read={log.records_read} written={log.records_written} "
               f"failed={log.records_failed} skipped={log.records_skipped} "
               f"duration_ms={log.duration_ms}")  # fmt: skip
    if log.message:
        typer.echo(log.message)
    for err in log.errors[:20]:
        typer.echo(f"  {err.local_id or err.erp_key or '-'}: {err.code}: {err.message}")
    if log.errors_total > 20:
        typer.echo(f"  ... {log.errors_total - 20} more (plantsync logs show {log.id})")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
