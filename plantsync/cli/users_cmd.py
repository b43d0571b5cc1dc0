"""``plantsync users create|list|set``: user accounts, directly on the database."""

from __future__ import annotations

import typer

from plantsync.cli.common import (
    TenantOption,
    database,
    print_json,
    print_table,
    read_secret,
    settings,
    stderr,
    validated,
)
from plantsync.core.models.accounts import UserCreate, UserUpdate
from plantsync.core.principal import Principal, Role
from plantsync.core.services import accounts
from plantsync.core.services.tenants import resolve_tenant

users_app = typer.Typer(help="User accounts (people who log in with email and password).")


@users_app.command("create")
def create(
    email: str = typer.Option(..., "--email", "-e", help="The user's email (their login)."),
    role: Role = typer.Option(Role.viewer, "--role", "-r", help="admin, operator or viewer."),
    tenant: str | None = TenantOption,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a user; the password is prompted for (or read from stdin), never an argument."""
    password = read_secret(prompt="Password", from_stdin=password_stdin)
    data = validated(UserCreate, email=email, password=password, role=role)
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        user = accounts.create_user(
            session=session, tenant_id=target.id, data=data,
            actor=Principal.system(target.id), settings=settings(),
        )  # fmt: skip
    if json_out:
        print_json(user)
    else:
        typer.echo(str(user.id))
        stderr.print(f"User {user.email} ({user.role.value}) created in {target.name}.")


@users_app.command("list")
def list_(
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List a tenant's users."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        users = []
        cursor = None
        while True:
            page = accounts.list_users(
                session=session, tenant_id=target.id, limit=500, cursor=cursor
            )
            users.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    if json_out:
        print_json(users)
    else:
        print_table(
            ["id", "email", "role", "active", "created_at"],
            [(u.id, u.email, u.role.value, u.is_active, u.created_at) for u in users],
        )


@users_app.command("set")
def set_(
    email: str = typer.Argument(..., help="The user's email."),
    role: Role | None = typer.Option(None, "--role", help="New role."),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Activate or deactivate."),
    tenant: str | None = TenantOption,
) -> None:
    """Change a user's role or active flag."""
    data = validated(UserUpdate, role=role, is_active=active)
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        user_id = accounts.find_user_id(session=session, tenant_id=target.id, email=email)
        user = accounts.update_user(
            session=session, tenant_id=target.id, user_id=user_id, data=data,
            actor=Principal.system(target.id),
        )  # fmt: skip
    stderr.print(f"User {user.email}: role {user.role.value}, active {user.is_active}.")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users", no_args_is_help=True)
