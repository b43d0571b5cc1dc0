"""What runs in the background of each process, built from the settings.

- ``plantsync serve`` (``start_for_api``): embedded mode — the executor thread pool and the
  scheduler (with the advisory-lock election on PostgreSQL, so several API nodes schedule
  once); queue mode — only the queue, for manual triggers and retries.
- ``plantsync scheduler`` and ``plantsync worker`` build theirs in their commands.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.sync.executor import FROM_ENGINE, Executor, Runner, load_runner
from plantsync.errors import ConfigurationError
from plantsync.scheduler.embedded import SchedulerService
from plantsync.scheduler.leader import AdvisoryLeader
from plantsync.scheduler.queue import Queue, ensure_schema

log = logging.getLogger(__name__)


def resolve_runner(settings: Settings) -> Runner | None:
    """The run function: the sync engine's ``run_sync`` (or the test-only ``sync_runner``)."""
    if not settings.sync_runner:
        return load_runner()
    module_name, _, attr = settings.sync_runner.partition(":")
    if not attr:
        raise ConfigurationError("PLANTSYNC_SYNC_RUNNER must look like 'module:function'")
    runner: Runner = getattr(importlib.import_module(module_name), attr)
    return runner


def require_queue_mode(settings: Settings, command: str) -> None:
    """Raises ``ConfigurationError`` unless the queue (PostgreSQL) is configured."""
    if settings.is_sqlite:
        raise ConfigurationError(
            f"`plantsync {command}` scales out on PostgreSQL (PLANTSYNC_DATABASE_URL) with "
            "PLANTSYNC_EXECUTOR=queue; on the embedded SQLite default `plantsync serve` "
            "schedules and runs syncs itself"
        )
    if settings.executor != "queue":
        raise ConfigurationError(
            f"`plantsync {command}` needs PLANTSYNC_EXECUTOR=queue (now: {settings.executor}); "
            "with the embedded executor `plantsync serve` schedules and runs syncs itself"
        )


@dataclass
class Background:
    """The background services of one API process (stopped in reverse order)."""

    executor: Executor | None = None
    scheduler: SchedulerService | None = None
    queue: Queue | None = None

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.executor is not None:
            self.executor.stop(wait=True)
        if self.queue is not None:
            self.queue.close()


def start_for_api(database: Database, settings: Settings) -> Background:
    """Starts what ``plantsync serve`` runs besides the API (see the module docstring)."""
    if settings.executor == "queue":
        if settings.is_sqlite:
            raise ConfigurationError(
                "PLANTSYNC_EXECUTOR=queue needs PostgreSQL; leave it at 'embedded' on SQLite"
            )
        ensure_schema(database)
        return Background(queue=Queue(database))
    runner = resolve_runner(settings) if settings.sync_runner else FROM_ENGINE
    executor = Executor(
        database,
        max_workers=settings.executor_threads,
        lease_seconds=settings.sync_lease_seconds,
        runner=runner,
    )
    executor.start()
    scheduler = None
    if settings.scheduler_enabled:
        leader = None if settings.is_sqlite else AdvisoryLeader(database.url)
        scheduler = SchedulerService(database, settings, executor=executor, leader=leader)
        scheduler.start()
    return Background(executor=executor, scheduler=scheduler)
