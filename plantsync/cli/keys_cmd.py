"""``plantsync keys rotate|generate``: the hub's signing and encryption keys."""

from __future__ import annotations

import typer

from plantsync.cli.common import database, print_json, settings, stderr
from plantsync.core.security import (
    add_encryption_key_to_data_dir,
    generate_keys,
    keys_are_managed_in_data_dir,
    secret_box,
)
from plantsync.core.services.keys import rotate_encrypted_secrets

keys_app = typer.Typer(help="Signing and encryption keys.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate(
    new_key: bool = typer.Option(
        True,
        "--new-key/--no-new-key",
        help="On the embedded default, first add a fresh encryption key to the data directory.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Re-encrypt every stored secret with the newest encryption key.

    With keys from PLANTSYNC_ENCRYPTION_KEYS, put the new key first on every node, then run
    this; older keys can be removed once it has finished.
    """
    current = settings()
    db = database()
    if new_key and keys_are_managed_in_data_dir(current) and current.encryption_keys is None:
        add_encryption_key_to_data_dir(current)
        stderr.print("Added a new encryption key to the data directory.", highlight=False)
    results = rotate_encrypted_secrets(db=db, box=secret_box(current))
    if json_out:
        print_json([{"column": r.column, "rows": r.rows} for r in results])
        return
    for result in results:
        stderr.print(f"{result.column}: {result.rows} secret(s) re-encrypted", highlight=False)
    stderr.print("Every stored secret now uses the newest key.", highlight=False)


@keys_app.command("generate")
def generate() -> None:
    """Print a fresh PLANTSYNC_SECRET_KEY and PLANTSYNC_ENCRYPTION_KEYS (for PostgreSQL set-ups).

    Nothing is stored: put the two lines in every node's environment or .env file.
    """
    keys = generate_keys()
    typer.echo(f"PLANTSYNC_SECRET_KEY={keys.secret_key}")
    typer.echo(f"PLANTSYNC_ENCRYPTION_KEYS={','.join(keys.encryption_keys)}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
