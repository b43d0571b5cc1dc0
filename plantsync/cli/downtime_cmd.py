"""``plantsync downtime list``."""

from __future__ import annotations

from datetime import datetime

import typer

from plantsync.cli.common import TenantOption, database, print_json, print_table
from plantsync.cli.machines_cmd import find_machine
from plantsync.core.services import downtime
from plantsync.core.services.tenants import resolve_tenant
from plantsync.errors import ValidationError

downtime_app = typer.Typer(help="Downtime events.", no_args_is_help=True)


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError.single(name, "not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValidationError.single(name, "needs a time zone (e.g. 2026-03-02T06:00:00Z)")
    return parsed


@downtime_app.command("list")
def list_(
    tenant: str | None = TenantOption,
    machine: str | None = typer.Option(None, "--machine", "-m", help="Machine id or code."),
    open_only: bool = typer.Option(False, "--open", help="Only events still running."),
    since: str | None = typer.Option(None, "--from", help="Overlapping from (ISO 8601)."),
    until: str | None = typer.Option(None, "--to", help="Overlapping until (ISO 8601)."),
    limit: int = typer.Option(500, "--limit", min=1, max=500),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List downtime events, newest first."""
    start, end = _when(since, "from"), _when(until, "to")
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        machine_id = find_machine(session, target.id, machine).id if machine else None
        page = downtime.list_downtime(
            session=session, tenant_id=target.id, machine_id=machine_id,
            is_open=True if open_only else None, start=start, end=end, limit=limit,
        )  # fmt: skip
    if json_out:
        print_json(page)
        return
    print_table(
        ["started", "ended", "minutes", "machine", "reason", "planned", "source", "id"],
        [
            (e.started_at, e.ended_at, e.duration_minutes, e.machine_id, e.reason_code, e.planned,
             e.source.value, e.id)
            for e in page.items
        ],
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(downtime_app, name="downtime")
