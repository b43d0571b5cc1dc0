"""``plantsync service-accounts create|list|delete``: credentials for other systems."""

from __future__ import annotations

import typer

from plantsync.cli.common import (
    TenantOption,
    database,
    print_json,
    print_table,
    settings,
    stderr,
    validated,
)
from plantsync.core.models.accounts import ServiceAccountCreate
from plantsync.core.principal import Principal, Role
from plantsync.core.services import accounts
from plantsync.core.services.tenants import resolve_tenant

sa_app = typer.Typer(help="Service accounts (client id + secret) for system-to-system use.")


@sa_app.command("create")
def create(
    name: str = typer.Argument(..., help="A name for the integrating system."),
    role: Role = typer.Option(Role.operator, "--role", "-r", help="admin, operator or viewer."),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a service account and print its client secret — once, never again."""
    data = validated(ServiceAccountCreate, name=name, role=role)
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        created = accounts.create_service_account(
            session=session, tenant_id=target.id, data=data,
            actor=Principal.system(target.id), settings=settings(),
        )  # fmt: skip
    if json_out:
        print_json(created)
        return
    typer.echo(f"client_id:     {created.client_id}")
    typer.echo(f"client_secret: {created.client_secret}")
    stderr.print("Store the client secret now: it is not shown again.", highlight=False)


@sa_app.command("list")
def list_(
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List a tenant's service accounts (never their secrets)."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        items = accounts.list_service_accounts(session=session, tenant_id=target.id, limit=500)
    if json_out:
        print_json(items.items)
    else:
        print_table(
            ["id", "name", "client_id", "role", "active"],
            [(a.id, a.name, a.client_id, a.role.value, a.is_active) for a in items.items],
        )


@sa_app.command("delete")
def delete(
    account: str = typer.Argument(..., help="The service account's id, client id or name."),
    tenant: str | None = TenantOption,
) -> None:
    """Delete a service account with its API keys."""
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        accounts.delete_service_account(
            session=session, tenant_id=target.id, ident=account, actor=Principal.system(target.id)
        )
    stderr.print(f"Service account {account!r} deleted.", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sa_app, name="service-accounts", no_args_is_help=True)
