"""Real PlantSync processes for the reliability suite: a hub database shared with them, and
``plantsync serve`` / ``scheduler`` / ``worker`` started as child processes (killable with
SIGKILL), with scheduling sped up through the test-only ``PLANTSYNC_SCHEDULER_MINUTE_SECONDS``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from plantsync.core import migrate
from plantsync.core.config import Settings
from plantsync.core.db import Database
from tests.factories import create_tenant
from tests.integration.connectors.conftest import SandboxHandle
from tests.integration.sync.conftest import Hub

PLANTSYNC = str(Path(sys.executable).with_name("plantsync"))
MINUTE_SECONDS = 0.1  # a 5-minute interval lasts half a second


class SoakWorld:
    """A migrated hub database with one tenant (a ``Hub``) per provider, and the environment
    of the processes that share it."""

    def __init__(
        self, tmp: Path, url: str | None, erp: SandboxHandle, providers: tuple[str, ...]
    ) -> None:
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp / "data",
            database_url=url or f"sqlite:///{(tmp / 'hub.db').as_posix()}",
            secret_key="reliability-" + uuid.uuid4().hex,  # type: ignore[arg-type]
            encryption_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
            password_hash_cost="low",
        )
        self.db = Database(self.settings.effective_database_url)
        migrate.upgrade(self.db)
        self.log_dir = tmp / "logs"
        self.log_dir.mkdir(exist_ok=True)
        self.hubs = {p: Hub(db=self.db, settings=self.settings, tenant=create_tenant(self.db), erp=erp)
                     for p in providers}  # fmt: skip
        assert self.settings.secret_key and self.settings.encryption_keys
        self.env = {
            **os.environ,
            "PLANTSYNC_DATABASE_URL": self.settings.effective_database_url,
            "PLANTSYNC_DATA_DIR": str(self.settings.data_dir),
            "PLANTSYNC_SECRET_KEY": self.settings.secret_key.get_secret_value(),
            "PLANTSYNC_ENCRYPTION_KEYS": self.settings.encryption_keys.get_secret_value(),
            "PLANTSYNC_SCHEDULER_MINUTE_SECONDS": str(MINUTE_SECONDS),
            "PLANTSYNC_SCHEDULER_TICK_SECONDS": "0.5",
            "PLANTSYNC_SCHEDULER_JITTER_SECONDS": "0.2",
            "PLANTSYNC_SYNC_LEASE_SECONDS": "6",
            "PLANTSYNC_STALLED_CHECK_SECONDS": "1",
            "PLANTSYNC_SYNC_RETRY_DELAY_SECONDS": "0.5",
            "PLANTSYNC_LOG_LEVEL": "WARNING",
        }

    @staticmethod
    def connection_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "sync_interval_minutes": 5,
            "sync_entities": [{"direction": d, "entity_type": e} for d, e in pairs],
            "outbound_start_from": "2020-01-01T00:00:00Z",
        }

    def close(self) -> None:
        self.db.dispose()


class Proc:
    """A PlantSync child process; ``kill()`` is SIGKILL (no clean-up of any kind)."""

    def __init__(self, world: SoakWorld, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.started = time.monotonic()
        # stderr goes to a file: a pipe nobody reads would block a chatty process.
        self.log_path = world.log_dir / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [PLANTSYNC, *args], env={**world.env, **(env or {})},
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
            )  # fmt: skip

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def stderr_tail(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")[-3000:]

    def timed_out(self, seconds: float) -> bool:
        return time.monotonic() - self.started > seconds

    def pause(self, seconds: float) -> None:
        """Paces the plant's own activity between checks (not a wait for a sync)."""
        time.sleep(seconds)


class ServeProcess(Proc):
    """``plantsync serve`` on a free loopback port, up once ``/healthz`` answers."""

    def __init__(self, world: SoakWorld, env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(world, "serve", "--host", "127.0.0.1", "--port", str(self.port), env=env)
        wait_for(self._healthy, 60, self)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(predicate: Callable[[], Any], timeout: float, proc: Proc | None = None) -> Any:
    """Polls ``predicate`` until it is truthy; fails after ``timeout`` seconds, or at once when
    ``proc`` died (with its stderr)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and not proc.alive():
            raise AssertionError(f"plantsync {proc.args[0]} died:\n{proc.stderr_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.2)
