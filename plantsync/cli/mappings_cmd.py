"""``plantsync mappings fields [--entity E] [--json]``: the canonical fields a connection's
``field_mappings`` may name (``field``, ``entity.field``, ``entity.@resource``)."""

from __future__ import annotations

import typer

from plantsync.cli.common import print_json, print_table, stderr
from plantsync.connectors.base import EntityType
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


def register(app: typer.Typer) -> None:
    app.add_typer(mappings_app, name="mappings")
