"""``plantsync config show``: the effective settings, secrets masked."""

from __future__ import annotations

import typer

from plantsync.cli.common import print_json, print_table, settings

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@config_app.command("show")
def show(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (from PLANTSYNC_* variables and .env), secrets masked."""
    values = settings().masked()
    if json_out:
        print_json(values)
    else:
        print_table(["setting", "value"], sorted(values.items()))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
