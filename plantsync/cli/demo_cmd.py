"""``plantsync demo-data [--tenant T] [--if-empty]``: fill a tenant with a believable plant."""

from __future__ import annotations

import time

import typer
from sqlmodel import Session, func, select

from plantsync.cli.common import TenantOption, database, stderr
from plantsync.core.models.tenancy import Tenant
from plantsync.core.services.demo import fill_demo, tenant_has_machines
from plantsync.core.services.tenants import create_tenant, resolve_tenant
from plantsync.errors import ConflictError, NotFoundError

DEMO_TENANT = "demo"


def _target(session: Session, name: str | None) -> Tenant:
    """The tenant named; with no name, the only tenant, or a new ``demo`` tenant if none exist.
    A named tenant that does not exist is created."""
    if name is None and session.exec(select(func.count()).select_from(Tenant)).one() == 0:
        return create_tenant(session=session, name=DEMO_TENANT)
    try:
        return resolve_tenant(session=session, tenant=name)
    except NotFoundError:
        assert name is not None
        return create_tenant(session=session, name=name)


def demo_data(
    tenant: str | None = TenantOption,
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the tenant already has machines."
    ),
) -> None:
    """Fill a tenant with a demo plant: two sites (Berlin, Chicago), 20 machines, shift
    schedules and the last seven days of runs, counts, downtime, work orders and crews."""
    began = time.monotonic()
    with database().session(write=True) as session:
        target = _target(session, tenant)
        if tenant_has_machines(session=session, tenant_id=target.id):
            if if_empty:
                stderr.print(f"Tenant {target.name} already has machines: no demo data added.")
                return
            raise ConflictError(
                f"Tenant {target.name} already has machines; demo data goes into an empty "
                "tenant (use --tenant NEW-NAME, or --if-empty to skip)"
            )
        summary = fill_demo(session=session, tenant_id=target.id)
    counts = summary.counts
    stderr.print(
        f"Demo plant created in tenant {target.name} in {time.monotonic() - began:.1f} s: "
        f"{counts.get('site', 0)} sites, {counts.get('machine', 0)} machines, "
        f"{counts.get('production_run', 0)} runs, {counts.get('cycle_submission', 0)} count "
        f"submissions, {counts.get('downtime_event', 0)} downtime events, "
        f"{counts.get('work_order', 0)} work orders."
    )


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
