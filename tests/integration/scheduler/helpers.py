"""Helpers for the scheduler tests: polling with deadlines, processes, connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.connections import ConnectionCreate
from plantsync.core.models.integration import Connection, SyncLog
from plantsync.core.principal import Principal
from plantsync.core.services.connections import create_connection

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.1) -> T:
    """Polls ``check`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)  # a poll interval, not a stand-in for synchronisation


def connect(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    *,
    provider: str = "sap",
    base_url: str = "https://erp.example.com",
    auth: dict[str, Any] | None = None,
    entities: list[dict[str, str]] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    **fields: Any,
) -> Connection:
    body: dict[str, Any] = {
        "name": f"{provider}-{uuid.uuid4().hex[:6]}",
        "provider": provider,
        "base_url": base_url,
        "auth_config": auth or {"username": "u", "password": "secret-pw"},
        "sync_interval_minutes": 60,
        "sync_entities": entities or [{"direction": "inbound", "entity_type": "machine"}],
        **fields,
    }
    with db.write_session() as session:
        return create_connection(
            session=session, tenant_id=tenant_id, data=ConnectionCreate.model_validate(body),
            principal=Principal.system(tenant_id), settings=settings, clock=clock,
        )  # fmt: skip


def logs_of(db: Database, connection_id: uuid.UUID | None = None) -> list[SyncLog]:
    from sqlmodel import col, select

    query = select(SyncLog).order_by(col(SyncLog.created_at))
    if connection_id is not None:
        query = query.where(SyncLog.connection_id == connection_id)
    with db.read_session() as session:
        return list(session.exec(query).all())


def hub_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """The environment of a PlantSync process on the test's database and keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANTSYNC_")}
    env.update(
        {
            "PLANTSYNC_DATABASE_URL": settings.effective_database_url,
            "PLANTSYNC_DATA_DIR": str(settings.data_dir),
            "PLANTSYNC_SECRET_KEY": settings.secret_key.get_secret_value(),  # type: ignore[union-attr]
            "PLANTSYNC_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),  # type: ignore[union-attr]
            "PLANTSYNC_AUTO_MIGRATE": "false",
            "PLANTSYNC_LOG_LEVEL": "INFO",
        }
    )
    env.update({f"PLANTSYNC_{k.upper()}": str(v) for k, v in extra.items()})
    return env


class Proc:
    """A ``plantsync`` command in its own process (output in files, for failures)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "plantsync", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a host or an OOM killer takes it."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()
        return self.popen.returncode

    def alive(self) -> bool:
        return self.popen.poll() is None
