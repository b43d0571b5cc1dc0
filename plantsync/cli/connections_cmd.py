"""``plantsync connections list|show|create|update|delete|test``: the admins' ERP connections.

A connection is named by id or name. Credentials (``auth_config``) come from a JSON file
(``--auth-config-file FILE``, ``-`` for stdin), an environment variable
(``--auth-config-env VAR``) or a prompt — never from a command-line argument, which other
users of the machine can read.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
import yaml

from plantsync.cli.common import (
    EXIT_FAILED,
    TenantOption,
    database,
    print_json,
    print_table,
    settings,
    stderr,
    validated,
)
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.models.connections import (
    ConnectionCreate,
    ConnectionPublic,
    ConnectionUpdate,
    SyncEntity,
)
from plantsync.core.principal import Principal
from plantsync.core.services import connections as service
from plantsync.core.services.tenants import resolve_tenant
from plantsync.core.sync import connector_class
from plantsync.errors import ValidationError

connections_app = typer.Typer(
    help="ERP connections (SAP, Dynamics 365, Oracle).", no_args_is_help=True
)

JsonOption = typer.Option(False, "--json", help="Print JSON.")
AuthFileOption = typer.Option(
    None, "--auth-config-file", help="JSON file with the credentials ('-' reads stdin)."
)
AuthEnvOption = typer.Option(
    None, "--auth-config-env", help="Name of an environment variable holding the credentials JSON."
)
MappingOption = typer.Option(
    None,
    "--mapping",
    help="field_mappings entry key=ERP_NAME (repeatable; on update KEY= removes).",
)
EntitiesOption = typer.Option(
    None, "--entities", help="What the scheduler runs, e.g. outbound:work_order,inbound:machine."
)
StartOption = typer.Option(
    None, "--start-from", help="Never push changes older than this (ISO 8601; UTC if no offset)."
)
CaOption = typer.Option(
    None, "--ca-bundle", help="PEM file of the CA(s) the ERP's certificate chains to."
)
InsecureOption = typer.Option(False, "--insecure", help="Do not verify the ERP's TLS certificate.")


# --- input helpers ---------------------------------------------------------------------------


def _load_auth(file: str | None, env: str | None) -> dict[str, Any] | None:
    if file and env:
        raise ValidationError.single("auth_config", "give --auth-config-file or --auth-config-env")
    if file is None and env is None:
        return None
    if env is not None:
        text, source = os.environ.get(env), f"environment variable {env}"
        if text is None:
            raise ValidationError.single("auth_config", f"{source} is not set")
    elif file == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        path = Path(str(file))
        if not path.is_file():
            raise ValidationError.single("auth_config", f"no such file: {path}")
        text, source = path.read_text(encoding="utf-8"), str(path)
    try:
        data = yaml.safe_load(text)  # JSON, or YAML for hand-written files
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        # Never echo the text: it holds the credentials.
        raise ValidationError.single("auth_config", f"{source} must hold a JSON object")
    return data


def _prompt_auth(provider: str) -> dict[str, Any]:
    if not sys.stdin.isatty():
        raise ValidationError.single(
            "auth_config", "give --auth-config-file FILE ('-' for stdin) or --auth-config-env VAR"
        )
    model = connector_class(provider).auth_model
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required():
            continue
        secret = any(w in name for w in ("password", "secret", "token"))
        values[name] = typer.prompt(name, hide_input=secret)
    return values


def _parse_mappings(items: list[str] | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError.single("mapping", f"{item!r} is not key=ERP_NAME")
        out[key.strip()] = value.strip() or None
    return out


def _parse_entities(text: str | None) -> list[SyncEntity] | None:
    if text is None:
        return None
    pairs: list[SyncEntity] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        direction, sep, entity = part.partition(":")
        pairs.append(validated(SyncEntity, direction=direction, entity_type=entity if sep else ""))
    return pairs


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single("start-from", "not an ISO 8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tls(ca_bundle: Path | None, insecure: bool) -> dict[str, Any] | None:
    if ca_bundle and insecure:
        raise ValidationError.single("tls", "give --ca-bundle or --insecure, not both")
    if insecure:
        return {"verify": False}
    if ca_bundle:
        if not ca_bundle.is_file():
            raise ValidationError.single("ca-bundle", f"no such file: {ca_bundle}")
        return {"ca_bundle_pem": ca_bundle.read_text(encoding="utf-8")}
    return None


# --- output ----------------------------------------------------------------------------------


def _show(conn: ConnectionPublic, json_out: bool) -> None:
    if json_out:
        print_json(conn)
        return
    rows: list[tuple[str, Any]] = [
        ("id", conn.id), ("name", conn.name), ("provider", conn.provider),
        ("base_url", conn.base_url), ("active", conn.is_active),
        ("interval (min)", conn.sync_interval_minutes),
        ("auth_config keys", ", ".join(conn.auth_config_keys)),
        ("tls", "NOT VERIFIED" if conn.tls_verify_disabled else
         ("custom CA" if conn.tls.ca_bundle_pem else "system CAs")),
        ("field_mappings", ", ".join(f"{k}={v}" for k, v in conn.field_mappings.items())),
        ("outbound_start_from", conn.outbound_start_from.isoformat()),
    ]  # fmt: skip
    print_table(["field", "value"], rows, title=conn.name)
    print_table(
        ["direction", "entity", "last sync", "status", "next sync"],
        [
            (s.direction.value, s.entity_type.value, s.last_sync_at, s.last_status, s.next_sync_at)
            for s in conn.schedule
        ],
    )
    for warning in conn.warnings:
        stderr.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)


# --- commands --------------------------------------------------------------------------------


@connections_app.command("list")
def list_(tenant: str | None = TenantOption, json_out: bool = JsonOption) -> None:
    """List the tenant's connections (credentials are never shown)."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        rows = service.list_connections(session=session, tenant_id=target.id)
        items = [service.to_public(session=session, connection=c, clock=SYSTEM_CLOCK) for c in rows]
    if json_out:
        print_json(items)
        return
    print_table(
        [
            "id",
            "name",
            "provider",
            "base_url",
            "active",
            "interval",
            "last status",
            "next sync",
            "health",
        ],
        [
            (
                c.id,
                c.name,
                c.provider,
                c.base_url,
                c.is_active,
                c.sync_interval_minutes,
                c.last_status,
                c.next_sync_at,
                f"DEGRADED ({c.consecutive_failures} failed runs)" if c.degraded else "ok",
            )
            for c in items
        ],
    )


@connections_app.command("show")
def show(
    connection: str = typer.Argument(..., help="Connection id or name."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Show one connection with its schedule."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        conn = service.get_connection(session=session, tenant_id=target.id, connection=connection)
        public = service.to_public(session=session, connection=conn, clock=SYSTEM_CLOCK)
    _show(public, json_out)


@connections_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Unique name in the tenant."),
    provider: str = typer.Option(..., "--provider", help="sap, dynamics, oracle or a plug-in's."),
    base_url: str = typer.Option(..., "--base-url", help="The ERP's https URL."),
    interval: int = typer.Option(..., "--interval", help="Minutes between syncs (5-1440)."),
    mapping: list[str] | None = MappingOption,
    entities: str | None = EntitiesOption,
    start_from: str | None = StartOption,
    ca_bundle: Path | None = CaOption,
    insecure: bool = InsecureOption,
    inactive: bool = typer.Option(False, "--inactive", help="Create it switched off."),
    auth_config_file: str | None = AuthFileOption,
    auth_config_env: str | None = AuthEnvOption,
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Create a connection; credentials from --auth-config-file/-env or a prompt."""
    auth = _load_auth(auth_config_file, auth_config_env)
    if auth is None:
        connector_class(provider)
        auth = _prompt_auth(provider)
    data = validated(
        ConnectionCreate, name=name, provider=provider, base_url=base_url, auth_config=auth,
        sync_interval_minutes=interval, is_active=not inactive,
        field_mappings={k: v or "" for k, v in _parse_mappings(mapping).items()},
        tls=_tls(ca_bundle, insecure), sync_entities=_parse_entities(entities),
        outbound_start_from=_parse_time(start_from),
    )  # fmt: skip
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        conn = service.create_connection(
            session=session, tenant_id=target.id, data=data, principal=Principal.system(target.id),
            settings=settings(), clock=SYSTEM_CLOCK,
        )  # fmt: skip
        public = service.to_public(session=session, connection=conn, clock=SYSTEM_CLOCK)
    stderr.print(f"Connection {public.name!r} created ({public.id}).", highlight=False)
    _show(public, json_out)


@connections_app.command("update")
def update(
    connection: str = typer.Argument(..., help="Connection id or name."),
    name: str | None = typer.Option(None, "--name"),
    provider: str | None = typer.Option(None, "--provider", help="Cannot change; refused."),
    base_url: str | None = typer.Option(None, "--base-url"),
    interval: int | None = typer.Option(None, "--interval", help="Minutes between syncs (5-1440)."),
    mapping: list[str] | None = MappingOption,
    entities: str | None = EntitiesOption,
    start_from: str | None = StartOption,
    ca_bundle: Path | None = CaOption,
    insecure: bool = InsecureOption,
    inactive: bool | None = typer.Option(None, "--inactive/--active", help="Switch off or on."),
    reset_links: bool = typer.Option(
        False, "--reset-links", help="Allow a new base URL to drop the links to ERP records."
    ),
    auth_config_file: str | None = AuthFileOption,
    auth_config_env: str | None = AuthEnvOption,
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Change a connection; credential keys given replace the stored ones."""
    given: dict[str, Any] = {"reset_links": reset_links}
    auth = _load_auth(auth_config_file, auth_config_env)
    tls = _tls(ca_bundle, insecure)
    for key, value in (("name", name), ("provider", provider), ("base_url", base_url),
                       ("sync_interval_minutes", interval), ("auth_config", auth), ("tls", tls),
                       ("sync_entities", _parse_entities(entities)),
                       ("outbound_start_from", _parse_time(start_from))):  # fmt: skip
        if value is not None:
            given[key] = value
    if inactive is not None:
        given["is_active"] = not inactive
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        if mapping:
            current = service.get_connection(
                session=session, tenant_id=target.id, connection=connection
            )
            merged: dict[str, Any] = dict(current.field_mappings)
            for key, value in _parse_mappings(mapping).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            given["field_mappings"] = merged
        conn = service.update_connection(
            session=session, tenant_id=target.id, connection=connection,
            data=validated(ConnectionUpdate, **given), principal=Principal.system(target.id),
            settings=settings(), clock=SYSTEM_CLOCK,
        )  # fmt: skip
        public = service.to_public(session=session, connection=conn, clock=SYSTEM_CLOCK)
    _show(public, json_out)


@connections_app.command("delete")
def delete(
    connection: str = typer.Argument(..., help="Connection id or name."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Archive a connection (its sync logs and ERP links are kept)."""
    with database().session(write=True) as session:
        target = resolve_tenant(session=session, tenant=tenant)
        conn = service.delete_connection(
            session=session, tenant_id=target.id, connection=connection,
            principal=Principal.system(target.id), clock=SYSTEM_CLOCK,
        )  # fmt: skip
    if json_out:
        print_json({"id": str(conn.id), "name": conn.name, "archived_at": conn.archived_at})
    stderr.print(f"Connection {conn.name!r} deleted (archived).", highlight=False)


@connections_app.command("test")
def test(
    connection: str = typer.Argument(..., help="Connection id or name."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Run the connector's diagnostics against the ERP; exit 1 when they fail."""
    db = database()
    with db.read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
    result = service.test_connection(
        database=db, tenant_id=target.id, connection=connection,
        principal=Principal.system(target.id), settings=settings(), clock=SYSTEM_CLOCK,
    )  # fmt: skip
    body = {"success": result.success, "latency_ms": result.latency_ms, "message": result.message}
    if json_out:
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        mark = "[green]OK[/green]" if result.success else "[red]FAILED[/red]"
        stderr.print(f"{mark} ({result.latency_ms} ms)", highlight=False)
        typer.echo(result.message)
    if not result.success:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.add_typer(connections_app, name="connections")
