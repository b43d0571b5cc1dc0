"""``plantsync connectors list``: the installed connector providers (built-in and plug-ins)."""

from __future__ import annotations

from typing import Any

import typer

from plantsync.cli.common import print_json, print_table, stderr
from plantsync.errors import PlantSyncError

connectors_app = typer.Typer(help="The ERP connector providers installed.", no_args_is_help=True)


@connectors_app.command("list")
def list_providers(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Providers with their entities and directions and the auth_config fields they take.

    A provider whose plug-in fails to load is listed with its error (exit code 1).
    """
    from plantsync.connectors import registry

    rows: list[dict[str, Any]] = []
    broken = False
    for name in registry.available_providers():
        try:
            rows.append(_describe(registry.describe(name)))
        except PlantSyncError as exc:
            broken = True
            rows.append({"provider": name, "error": exc.message})
    if json_out:
        print_json(rows)
    else:
        print_table(
            ["provider", "name", "inbound", "outbound", "auth fields"],
            [_row(r) for r in rows],
        )
    if broken:
        stderr.print("Some providers failed to load (see their error).", highlight=False)
        raise typer.Exit(1)


def _describe(info: Any) -> dict[str, Any]:
    return {
        "provider": info.name,
        "display_name": info.display_name,
        "entities": [
            {"entity": s.entity.value, "direction": s.direction.value} for s in info.supports
        ],
        "auth_fields": [
            {"name": f.name, "type": f.type, "required": f.required, "secret": f.secret}
            for f in info.auth_fields
        ],
    }


def _row(r: dict[str, Any]) -> list[str]:
    if "error" in r:
        return [r["provider"], f"failed to load: {r['error']}", "", "", ""]

    def entities(direction: str) -> str:
        return ", ".join(e["entity"] for e in r["entities"] if e["direction"] == direction)

    # "name* (type)", * = required; types read "string", "secret", "string, optional".
    fields = "; ".join(
        f["name"] + ("*" if f["required"] else "") + f" ({f['type']})" for f in r["auth_fields"]
    )
    return [r["provider"], r["display_name"], entities("inbound"), entities("outbound"), fields]


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")
