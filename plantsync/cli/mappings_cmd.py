"""``plantsync mappings fields [--entity E] [--json]``: the canonical fields a connection's
``field_mappings`` may name (``field``, ``entity.field``, ``entity.@resource``).

``plantsync mappings show CONNECTION ENTITY [--direction D] [--json]``: the effective mapping
of one connection (the provider's default file with the connection's overrides applied)."""

from __future__ import annotations

from typing import Any

import typer

from plantsync.cli.common import TenantOption, database, fail, print_json, print_table, stderr
from plantsync.entities import Direction, EntityType
from plantsync.mappings.overrides import RESOURCE_KEY, describe_fields

mappings_app = typer.Typer(
    help="Field mappings between the plant model and the ERPs.", no_args_is_help=True
)


@mappings_app.command("fields")
def fields(
    entity: EntityType | None = typer.Option(None, "--entity", help="Only this entity."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the canonical fields per entity (keys of a connection's field_mappings)."""
    rows = [r for r in describe_fields() if entity is None or r["entity_type"] == entity.value]
    if json_out:
        print_json(rows)
        return
    print_table(
        ["entity", "field", "description"],
        [(r["entity_type"], r["field"], r["description"]) for r in rows],
    )
    stderr.print(
        f"Keys: a bare field applies to every entity that has it; 'entity.field' to one entity; "
        f"'entity.{RESOURCE_KEY}' replaces the ERP service/resource of that entity.",
        highlight=False,
    )


@mappings_app.command("show")
def show(
    connection: str = typer.Argument(..., help="Connection id or name."),
    entity: EntityType = typer.Argument(
        ..., help="work_order, production_data, downtime, machine."
    ),
    direction: Direction | None = typer.Option(
        None, "--direction", help="inbound or outbound (default: both where mapped)."
    ),
    tenant: str | None = TenantOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the effective mapping of a connection for one entity (defaults + overrides)."""
    from plantsync.core.services.connections import get_connection
    from plantsync.core.services.tenants import resolve_tenant
    from plantsync.core.sync.setup import effective_mapping

    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        conn = get_connection(session=session, tenant_id=target.id, connection=connection)
    mapping = effective_mapping(conn)
    directions = [direction] if direction else list(Direction)
    shown: dict[str, Any] = {}
    for d in directions:
        m = mapping.get(entity, d)
        if m is not None:
            shown[d.value] = m.model_dump(mode="json")
    if not shown:
        where = direction.value + " " if direction else ""
        fail(f"the {conn.provider} mapping of {conn.name!r} has no {where}{entity.value}")
    if json_out:
        print_json({"connection": conn.name, "provider": conn.provider,
                    "entity_type": entity.value, "directions": shown})  # fmt: skip
        return
    for shown_direction, body in shown.items():
        _print_entity_mapping(conn.name, entity, shown_direction, body, set(conn.field_mappings))


def _print_entity_mapping(
    name: str, entity: EntityType, direction: str, m: dict[str, Any], overridden: set[str]
) -> None:
    typer.echo(f"{name}: {direction} {entity.value} -> {m['resource']}")
    typer.echo(f"  key: {', '.join(m['key'])}   reconcile: {m['reconcile']}"
               + (f" ({m['reference_field']})" if m.get("reference_field") else "")
               + ("   create-only" if m.get("create_only") else ""))  # fmt: skip
    rows = []
    for canonical, erp_field in m["fields"].items():
        extras = []
        if canonical in m["values"]:
            extras.append(
                "values: " + ", ".join(f"{k}={v}" for k, v in m["values"][canonical].items())
            )
        if canonical in m["convert"]:
            extras.append(f"convert: {m['convert'][canonical]}")
        mark = "*" if {canonical, f"{entity.value}.{canonical}"} & overridden else ""
        rows.append((canonical + mark, erp_field, "; ".join(extras)))
    print_table(["canonical field", "ERP field", "values / conversion"], rows)
    for label in ("constants", "defaults"):
        if m.get(label):
            typer.echo(f"  {label}: " + ", ".join(f"{k}={v}" for k, v in m[label].items()))
    if m.get("notes"):
        typer.echo(f"  notes: {m['notes']}")
    if overridden:
        stderr.print("* overridden by the connection's field_mappings", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(mappings_app, name="mappings")
