"""``plantsync machines list|show|import``: the machine master data on the database directly."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import typer
from sqlmodel import Session

from plantsync.cli.common import TenantOption, database, print_json, print_table, stderr
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.models.plant import Machine, MachineStatus
from plantsync.core.principal import Principal
from plantsync.core.services import machines
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.plant_common import BulkOutcome
from plantsync.core.services.tenants import resolve_tenant
from plantsync.errors import BadRequestError, NotFoundError

machines_app = typer.Typer(help="Machines (assets): list, show, import.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print JSON.")


def find_machine(session: Session, tenant_id: uuid.UUID, ident: str) -> Machine:
    """The machine with this id or code in the tenant; ``NotFoundError`` otherwise."""
    try:
        return machines.get_machine(
            session=session, tenant_id=tenant_id, machine_id=uuid.UUID(ident)
        )
    except ValueError:
        found = machines.find_machine_by_code(session=session, tenant_id=tenant_id, code=ident)
        if found is None:
            raise NotFoundError("machine", ident) from None
        return found


@machines_app.command("list")
def list_(
    tenant: str | None = TenantOption,
    site: str | None = typer.Option(None, "--site", help="Site id."),
    status: MachineStatus | None = typer.Option(None, "--status"),
    search: str | None = typer.Option(None, "--search", "-q", help="Search code and name."),
    limit: int = typer.Option(500, "--limit", min=1, max=500),
    json_out: bool = JsonOption,
) -> None:
    """List machines by code."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        site_id = uuid.UUID(site) if site else None
        page = machines.list_machines(
            session=session, tenant_id=target.id, site_id=site_id, status=status, q=search,
            limit=limit,
        )  # fmt: skip
    if json_out:
        print_json(page)
        return
    print_table(
        ["code", "name", "type", "status", "since", "active", "id"],
        [
            (m.code, m.name, m.type, m.status.value, m.status_since, m.is_active, m.id)
            for m in page.items
        ],
    )
    if page.next_cursor:
        stderr.print(f"More than {limit} machines: use --json with the API to page through all.")


@machines_app.command("show")
def show(
    machine: str = typer.Argument(..., help="Machine id or code."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Show one machine."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        public = machines.to_public(find_machine(session, target.id, machine))
    if json_out:
        print_json(public)
        return
    print_table(["field", "value"], list(public.model_dump().items()))


def read_items(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The items of a CSV (header row) or JSON file (a list, or ``{"items": [...]}``) and the
    file line/position of each; ``BadRequestError`` when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadRequestError(f"Cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"{path} is not UTF-8 text") from exc
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        return _json_items(path, text)
    rows = list(csv.DictReader(text.splitlines()))
    items = [
        {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}
        for row in rows
    ]
    return items, list(range(2, len(items) + 2))


def _json_items(path: Path, text: str) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequestError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise BadRequestError(f'{path}: expected a list of objects (or {{"items": [...]}})')
    return data, list(range(1, len(data) + 1))


@machines_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV (header row) or JSON file of machines."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Create or update machines by code from a file. Rows that fail are listed with their
    errors; the others are stored. Exits 1 when any row failed."""
    items, positions = read_items(file)
    if not items:
        raise BadRequestError(f"{file} holds no machines")
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        origin = ChangeOrigin.from_principal(Principal.system(target.id))
        result = machines.upsert_machines(
            session=session, tenant_id=target.id, items=items, origin=origin, clock=SYSTEM_CLOCK
        )
    where = "row" if file.suffix.lower() != ".json" else "item"
    for r in result.results:
        if r.outcome == BulkOutcome.failed:
            detail = "; ".join(f"{f}: {', '.join(m)}" for f, m in r.errors.items()) or r.message
            stderr.print(
                f"{where} {positions[r.index]} ({r.key or '?'}): {detail}",
                markup=False,
                highlight=False,
            )
    if json_out:
        print_json(result)
    else:
        stderr.print(
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
            f"{result.failed} failed"
        )
    if result.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(machines_app, name="machines")
