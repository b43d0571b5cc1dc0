"""``plantsync serve``: the API (and what runs in its process) on one host and port."""

from __future__ import annotations

import typer

from plantsync.cli.common import database, settings, stderr


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Run the API server (and, on the embedded default, the scheduler and the sync runs).

    Refuses to start without its keys on PostgreSQL (PLANTSYNC_SECRET_KEY and
    PLANTSYNC_ENCRYPTION_KEYS); on the embedded SQLite default they are generated once.
    The database is migrated to the latest schema first (see PLANTSYNC_AUTO_MIGRATE).
    """
    import uvicorn

    from plantsync.api.app import create_app
    from plantsync.core.logging import configure_logging, uvicorn_log_config
    from plantsync.core.security import hub_keys

    current = settings()
    configure_logging(current)
    hub_keys(current)  # ConfigurationError (exit 1) before anything else starts
    db = database()
    app = create_app(current, database=db)
    from plantsync.scheduler.runtime import start_for_api

    # Embedded: the scheduler and the executor's thread pool run here; queue: triggers are
    # deferred to the `plantsync worker`s (PLANTSYNC_EXECUTOR).
    background = start_for_api(db, current)
    app.state.executor = background.executor or background.queue
    app.state.scheduler = background.scheduler
    stderr.print(f"PlantSync API on http://{host}:{port} (docs at /docs)", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_config=uvicorn_log_config(), server_header=False)
    finally:
        background.stop()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
