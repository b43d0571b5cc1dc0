"""The ``plantsync`` command: one typer app, one module per command group."""

from __future__ import annotations

import typer

from plantsync.errors import InputError, PlantSyncError, ValidationError

app = typer.Typer(
    name="plantsync",
    help="PlantSync: plant data in one database, kept in step with the plant's ERP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_registered = False


def _register() -> None:
    # Once per process: ``main()`` may run many times in one process (tests), and adding the
    # groups again would duplicate them.
    global _registered
    if _registered:
        return
    _registered = True
    # One line per command group module; each module exposes ``register(app)``.
    from plantsync.cli import (
        api_keys_cmd,
        config_cmd,
        connections_cmd,
        connectors_cmd,
        db_cmd,
        demo_cmd,
        downtime_cmd,
        keys_cmd,
        logs_cmd,
        machines_cmd,
        mappings_cmd,
        oee_cmd,
        sandbox_cmd,
        scheduler_cmd,
        serve_cmd,
        service_accounts_cmd,
        sync_cmd,
        tenants_cmd,
        users_cmd,
        work_orders_cmd,
        worker_cmd,
    )

    for module in (
        machines_cmd,
        work_orders_cmd,
        downtime_cmd,
        demo_cmd,
        oee_cmd,
        api_keys_cmd,
        config_cmd,
        connections_cmd,
        connectors_cmd,
        db_cmd,
        keys_cmd,
        logs_cmd,
        mappings_cmd,
        sandbox_cmd,
        scheduler_cmd,
        serve_cmd,
        service_accounts_cmd,
        sync_cmd,
        tenants_cmd,
        users_cmd,
        worker_cmd,
    ):
        module.register(app)


def main() -> None:
    """Entry point: runs the app and turns our errors into a message and an exit code."""
    from plantsync.cli.common import EXIT_FAILED, EXIT_USAGE, stderr

    _register()
    try:
        # In non-standalone mode click returns typer.Exit's code instead of raising it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        stderr.print("Aborted.")
        raise SystemExit(EXIT_FAILED) from None
    except PlantSyncError as exc:
        stderr.print(f"Error: {exc.message}", markup=False, highlight=False)
        if isinstance(exc, ValidationError):
            for field, msgs in exc.errors.items():
                for msg in msgs:
                    if f"{field}: {msg}" != exc.message:  # a single error is the message
                        stderr.print(f"  {field}: {msg}", markup=False, highlight=False)
        raise SystemExit(EXIT_USAGE if isinstance(exc, InputError) else EXIT_FAILED) from None
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        # Typer vendors its own click: its usage errors derive from TyperException.
        if isinstance(exc, click.ClickException | typer.TyperException) and hasattr(exc, "show"):
            exc.show()
            raise SystemExit(EXIT_USAGE) from None
        raise
