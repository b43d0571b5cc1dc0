"""``plantsync scheduler`` (the scale-out scheduler process) and ``plantsync scheduler status``.

``plantsync scheduler`` decides when syncs run and defers them to the queue; run two (on two
hosts) for a hot standby: one holds the PostgreSQL advisory lock and schedules, the other
takes over within a few seconds of its death. SIGTERM/SIGINT stop it cleanly (the lock is
given up at once).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import typer

from plantsync.cli.common import database, print_json, print_table, settings, stderr

scheduler_app = typer.Typer(
    help="The scheduler: `plantsync scheduler` runs it (PostgreSQL, PLANTSYNC_EXECUTOR=queue); "
    "`plantsync scheduler status` shows when each connection and entity syncs next.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@scheduler_app.callback()
def run(ctx: typer.Context) -> None:
    """Run the scheduler (active or hot standby) until SIGTERM/SIGINT."""
    if ctx.invoked_subcommand is not None:
        return
    from plantsync.core.logging import configure_logging
    from plantsync.scheduler.embedded import SchedulerService
    from plantsync.scheduler.leader import AdvisoryLeader
    from plantsync.scheduler.queue import Queue, ensure_schema
    from plantsync.scheduler.runtime import require_queue_mode

    current = settings()
    configure_logging(current)
    require_queue_mode(current, "scheduler")
    db = database()
    ensure_schema(db)
    service = SchedulerService(db, current, queue=Queue(db), leader=AdvisoryLeader(db.url))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    stderr.print("PlantSync scheduler started (active or standby: see the log)", highlight=False)
    try:
        stop.wait()
    finally:
        service.stop()
        stderr.print("PlantSync scheduler stopped", highlight=False)


@scheduler_app.command("status")
def status(
    tenant: str | None = typer.Option(
        None, "--tenant", "-t", help="Only this tenant (name or id); default: every tenant."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """When each connection and entity last ran, its status, and when it runs next."""
    from plantsync.core.services.tenants import resolve_tenant
    from plantsync.scheduler.status import background_state, schedule_rows

    current = settings()
    db = database()
    tenant_id = None
    if tenant is not None:
        with db.read_session() as session:
            tenant_id = resolve_tenant(session=session, tenant=tenant).id
    rows = schedule_rows(db, current, tenant_id=tenant_id)
    hub = background_state(db, current, None)
    if current.is_sqlite and current.executor == "embedded":
        # The embedded scheduler lives inside `plantsync serve` and leaves no trace in SQLite
        # that another process could see: say so instead of "none running".
        hub["scheduler"] = {
            "active": None,
            "here": False,
            "role": "embedded",
            "note": "runs inside `plantsync serve`; its /readyz reports it",
        }
    if json_out:
        print_json({"hub": hub, "items": rows})
        return
    print_table(
        ["connection", "direction", "entity", "last run", "status", "next sync", "fires at",
         "health"],
        [
            (r.connection, r.direction.value, r.entity_type.value, _when(r.last_sync_at),
             r.last_status.value if r.last_status else "never",
             _when(r.next_sync_at) if r.is_active else "inactive", _when(r.fire_at),
             "DEGRADED" if r.degraded else "ok")
            for r in rows
        ],
    )  # fmt: skip
    stderr.print(_hub_line(hub), highlight=False)


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _hub_line(hub: dict[str, Any]) -> str:
    sched = hub.get("scheduler", {})
    active = sched.get("active")
    text = f"executor: {hub['executor']}; scheduler: " + (
        "active" if active else ("unknown" if active is None else "none running")
    )
    if sched.get("note"):
        text += f" ({sched['note']})"
    queue = hub.get("queue")
    if queue and queue.get("available"):
        text += f"; queue: {queue['jobs_waiting']} waiting, {queue['jobs_running']} running"
    return text


def register(app: typer.Typer) -> None:
    app.add_typer(scheduler_app, name="scheduler")
