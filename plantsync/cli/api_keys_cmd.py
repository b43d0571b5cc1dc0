"""``plantsync api-keys create|list|revoke``: keys for devices, held by a service account."""

from __future__ import annotations

import uuid
from datetime import datetime

import typer

from plantsync.cli.common import TenantOption, database, print_json, print_table, stderr, validated
from plantsync.core.models.accounts import ApiKeyCreate
from plantsync.core.principal import Principal, Role
from plantsync.core.services import api_keys
from plantsync.core.services.accounts import get_service_account
from plantsync.core.services.tenants import resolve_tenant
from plantsync.errors import ValidationError

keys_app = typer.Typer(help="API keys (X-API-Key) for devices that cannot run a token flow.")


@keys_app.command("create")
def create(
    service_account: str = typer.Option(
        ..., "--service-account", "-s", help="The owning service account (id, client id or name)."
    ),
    name: str = typer.Option(..., "--name", "-n", help="What the key is for (e.g. andon-line-3)."),
    role: Role = typer.Option(Role.operator, "--role", "-r", help="At most the account's role."),
    machines: list[str] | None = typer.Option(
        None, "--machine", "-m", help="Limit the key to this machine id (repeatable)."
    ),
    expires_at: datetime | None = typer.Option(
        None, "--expires-at", help="Expiry (ISO 8601, UTC when no offset is given)."
    ),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an API key and print it — once, never again."""
    machine_ids = [_machine_id(m) for m in machines] if machines else None
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        owner = get_service_account(session=session, tenant_id=target.id, ident=service_account)
        data = validated(
            ApiKeyCreate, service_account_id=owner.id, name=name, role=role,
            machine_ids=machine_ids, expires_at=_aware(expires_at),
        )  # fmt: skip
        created = api_keys.create_api_key(
            session=session, tenant_id=target.id, data=data, actor=Principal.system(target.id)
        )
    if json_out:
        print_json(created)
        return
    typer.echo(created.key)
    stderr.print(
        f"API key {created.name!r} ({created.role.value}) created; store it now: "
        "it is not shown again.",
        highlight=False,
    )


def _machine_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError.single("machine", f"{value!r} is not a machine id") from None


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@keys_app.command("list")
def list_(
    service_account: str | None = typer.Option(
        None, "--service-account", "-s", help="Only this account's keys."
    ),
    include_revoked: bool = typer.Option(False, "--all", help="Include revoked keys."),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List API keys (their prefixes, never the keys)."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        owner_id = None
        if service_account:
            owner_id = get_service_account(
                session=session, tenant_id=target.id, ident=service_account
            ).id
        page = api_keys.list_api_keys(
            session=session, tenant_id=target.id, service_account_id=owner_id,
            include_revoked=include_revoked, limit=500,
        )  # fmt: skip
    if json_out:
        print_json(page.items)
        return
    print_table(
        ["id", "name", "prefix", "role", "machines", "expires_at", "revoked_at"],
        [
            (k.id, k.name, k.key_prefix, k.role.value,
             "all" if k.machine_ids is None else len(k.machine_ids), k.expires_at, k.revoked_at)
            for k in page.items
        ],
    )  # fmt: skip


@keys_app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key's id (see `plantsync api-keys list`)."),
    tenant: str | None = TenantOption,
) -> None:
    """Revoke an API key: it stops working at once."""
    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise ValidationError.single("key_id", f"{key_id!r} is not an API key id") from None
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        key = api_keys.revoke_api_key(
            session=session, tenant_id=target.id, key_id=parsed, actor=Principal.system(target.id)
        )
    stderr.print(f"API key {key.name!r} revoked.", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="api-keys", no_args_is_help=True)
