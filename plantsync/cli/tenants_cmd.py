"""``plantsync tenants create|list``."""

from __future__ import annotations

import typer

from plantsync.cli.common import database, print_json, print_table, stderr
from plantsync.core.models import TenantPublic
from plantsync.core.services import tenants

tenants_app = typer.Typer(help="Tenants: every user, machine and connection belongs to one.")


@tenants_app.command("create")
def create(
    name: str = typer.Argument(..., help="The tenant's name (unique)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a tenant."""
    with database().write_session() as session:
        tenant = tenants.create_tenant(session=session, name=name)
    public = TenantPublic.model_validate(tenant, from_attributes=True)
    if json_out:
        print_json(public)
    else:
        typer.echo(str(public.id))
        stderr.print(f"Tenant {public.name!r} created.", highlight=False)


@tenants_app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the tenants."""
    with database().read_session() as session:
        rows = [
            TenantPublic.model_validate(t, from_attributes=True)
            for t in tenants.list_tenants(session=session)
        ]
    if json_out:
        print_json(rows)
    else:
        print_table(["id", "name", "created_at"], [(t.id, t.name, t.created_at) for t in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(tenants_app, name="tenants", no_args_is_help=True)
