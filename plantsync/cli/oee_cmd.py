"""``plantsync oee MACHINE --from --to``: one machine's OEE over a window, with its inputs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session

from plantsync.cli.common import TenantOption, database, print_json, print_table, stderr
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.models.plant import Machine, Site
from plantsync.core.models.production import OEESnapshot
from plantsync.core.principal import Principal
from plantsync.core.services.machines import find_machine_by_code
from plantsync.core.services.oee import oee_snapshot
from plantsync.core.services.tenants import resolve_tenant
from plantsync.errors import NotFoundError, ValidationError


def _machine(session: Session, tenant_id: uuid.UUID, ref: str) -> Machine:
    found = find_machine_by_code(session=session, tenant_id=tenant_id, code=ref)
    if found is None:
        try:
            candidate = session.get(Machine, uuid.UUID(ref))
        except ValueError:
            candidate = None
        if candidate is not None and candidate.tenant_id == tenant_id:
            found = candidate
    if found is None:
        raise NotFoundError("Machine", ref)
    return found


def _when(value: str | None, field: str, tz: ZoneInfo) -> datetime | None:
    """An ISO date or datetime; without an offset it is local time at the machine's site."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError.single(
            field, "an ISO date or datetime, e.g. 2026-01-05T06:00"
        ) from exc
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _print_human(machine: Machine, snap: OEESnapshot) -> None:
    i = snap.inputs
    rows = [
        ("OEE", _pct(snap.oee)),
        ("availability", _pct(snap.availability)),
        ("performance", _pct(snap.performance)),
        ("quality", _pct(snap.quality)),
        ("scheduled time", f"{i.scheduled_time_s / 60:.1f} min"),
        ("planned stops", f"{i.planned_stop_s / 60:.1f} min"),
        ("planned production time", f"{i.planned_time_s / 60:.1f} min"),
        ("unplanned downtime", f"{i.unplanned_downtime_s / 60:.1f} min"),
        ("run time", f"{i.run_time_s / 60:.1f} min"),
        (
            "ideal cycle time",
            "n/a" if i.ideal_cycle_time_s is None else f"{i.ideal_cycle_time_s:g} s",
        ),
        ("total / good / scrap", f"{i.total_count} / {i.good_count} / {i.scrap_count}"),
    ]
    title = f"{machine.code}  {snap.start.isoformat()} .. {snap.end.isoformat()}"
    print_table(["measure", "value"], rows, title=title)
    for flag in snap.flags:
        stderr.print(f"note [{flag.code}]: {flag.message}", markup=False, highlight=False)


def oee(
    machine: str = typer.Argument(..., help="Machine code or id."),
    start: str | None = typer.Option(
        None,
        "--from",
        help="Window start, ISO date/datetime (no offset: site time). Default: 24 h ago.",
    ),
    end: str | None = typer.Option(None, "--to", help="Window end (default: now)."),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """OEE = availability x performance x quality of one machine over a window, with the
    inputs used (planned time from the shift schedule, downtime, counts) and any edge met."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        found = _machine(session, target.id, machine)
        site = session.get(Site, found.site_id) if found.site_id else None
        tz = ZoneInfo(site.timezone if site else "UTC")
        until = _when(end, "to", tz) or SYSTEM_CLOCK.now()
        since = _when(start, "from", tz) or until - timedelta(hours=24)
        snap = oee_snapshot(
            session=session, principal=Principal.system(target.id), machine_id=found.id,
            start=since, end=until,
        )  # fmt: skip
    if json_out:
        print_json(snap)
    else:
        _print_human(found, snap)


def register(app: typer.Typer) -> None:
    app.command("oee")(oee)
