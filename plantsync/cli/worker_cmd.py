"""``plantsync worker``: executes sync runs from the queue (PostgreSQL, PLANTSYNC_EXECUTOR=queue).

Run any number, on any machine. Each job carries only a run's id; the worker claims the run,
renews its lease while it works and closes it. SIGTERM/SIGINT drain the worker: it takes no
new job and exits when its running jobs have finished (a deploy waits for that, or sends
SIGKILL — then the runs' leases expire, they are failed and retried, and nothing is lost).
"""

from __future__ import annotations

import typer

from plantsync.cli.common import database, settings, stderr


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, max=64,
        help="Runs at once (default PLANTSYNC_WORKER_CONCURRENCY).",
    ),
    burst: bool = typer.Option(
        False, "--burst", help="Exit once the queue is empty instead of waiting for jobs."
    ),
) -> None:  # fmt: skip
    """Run a worker that executes queued sync runs until SIGTERM/SIGINT (then drains)."""
    from plantsync.core.logging import configure_logging
    from plantsync.scheduler.queue import QUEUE, build_app, ensure_schema, worker_context
    from plantsync.scheduler.runtime import require_queue_mode, resolve_runner

    current = settings()
    configure_logging(current)
    require_queue_mode(current, "worker")
    db = database()
    ensure_schema(db)
    runner = resolve_runner(current)
    lease = current.sync_lease_seconds
    with worker_context(db, runner=runner, lease_seconds=lease) as context:
        stderr.print(f"PlantSync worker {context.worker_id} started", highlight=False)
        build_app(db.url, worker=True).run_worker(
            queues=[QUEUE],
            name=context.worker_id,
            concurrency=concurrency or current.worker_concurrency,
            wait=not burst,
            install_signal_handlers=True,
            shutdown_graceful_timeout=None,  # a drain lets running syncs finish
            delete_jobs="successful",
            update_heartbeat_interval=max(1.0, min(10.0, lease / 3)),
            stalled_worker_timeout=max(3.0, lease),
            fetch_job_polling_interval=max(0.5, min(5.0, current.scheduler_tick_seconds)),
        )
    stderr.print("PlantSync worker stopped", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
