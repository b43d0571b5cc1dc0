"""The embedded default with a real `plantsync serve` on SQLite: it runs due syncs on its own
(scheduler + in-process executor, nothing else started), and runs missed while it was down
are coalesced into one run per entity at the next start."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models.integration import SyncLog, SyncStatus, SyncTrigger
from tests.integration.connectors.conftest import SandboxHandle
from tests.integration.scheduler.helpers import Proc, connect, hub_env, logs_of, wait_for

MINUTE_S = 2.0  # 5-minute intervals last 10 s
TICK_S = 0.3
STOPPED = (0, -15)  # uvicorn re-raises the SIGTERM it handled once it has shut down


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(settings: Settings, tmp_path: Path, name: str) -> tuple[Proc, str]:
    port = _free_port()
    env = hub_env(
        settings, scheduler_tick_seconds=TICK_S, scheduler_minute_seconds=MINUTE_S,
        scheduler_jitter_seconds=1, sync_lease_seconds=5,
    )  # fmt: skip
    proc = Proc(name, ["serve", "--port", str(port)], env, tmp_path)
    return proc, f"http://127.0.0.1:{port}"


def _scheduler_state(url: str) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = httpx.get(f"{url}/readyz", timeout=2).json()
    except httpx.HTTPError:
        return None
    return body.get("scheduler")


def _scheduled(db: Database, conn_id: uuid.UUID) -> list[SyncLog]:
    return [r for r in logs_of(db, conn_id) if r.trigger == SyncTrigger.schedule]


def test_serve_runs_due_syncs_and_coalesces_missed_runs(
    db: Database, settings: Settings, small_erp: SandboxHandle, tmp_path: Path
) -> None:
    if not settings.is_sqlite:
        pytest.skip("the embedded default is SQLite; PostgreSQL: see test_scale_out")
    small_erp.set_faults()
    info = small_erp.info["oracle"]
    conn = connect(
        db, settings, create_tenant_id(db), provider="oracle", base_url=info["base_url"],
        auth=info["auth_config"], tls={"ca_bundle_pem": info["tls"]["ca_bundle_pem"]},
        sync_interval_minutes=5,
    )  # fmt: skip
    serve, url = _serve(settings, tmp_path, "serve-1")
    try:
        wait_for(
            lambda: len([r for r in _scheduled(db, conn.id) if r.status == SyncStatus.success])
            >= 2,
            timeout=60, what="two scheduled runs executed by serve alone",
        )  # fmt: skip
    finally:
        assert serve.stop() in STOPPED, serve.output()[-3000:]
    done = _scheduled(db, conn.id)
    assert done[1].created_at - done[0].created_at >= timedelta(seconds=5 * MINUTE_S - 1)
    # The hub is down for ten hours: move every run back as if that time had passed.
    with db.write_session() as session:
        for log in logs_of(db, conn.id):
            session.exec(
                update(SyncLog).where(col(SyncLog.id) == log.id).values(
                    created_at=log.created_at - timedelta(hours=10))
            )  # fmt: skip
    before = len(logs_of(db, conn.id))
    serve, url = _serve(settings, tmp_path, "serve-2")
    try:
        fresh = wait_for(
            lambda: next((r for r in _scheduled(db, conn.id)[before:]
                          if r.status == SyncStatus.success), None),
            timeout=60, what="the coalesced run after the restart",
        )  # fmt: skip
        # Several more ticks (well before the next interval): still one run, not a burst.
        wait_for(
            lambda: (s := _scheduler_state(url)) and s.get("last_tick_at")
            and s["last_tick_at"] > (fresh.finished_at + timedelta(seconds=4 * TICK_S)).isoformat(),
            timeout=30, what="more scheduler ticks",
        )  # fmt: skip
        assert len(logs_of(db, conn.id)) == before + 1
    finally:
        assert serve.stop() in STOPPED, serve.output()[-3000:]


def create_tenant_id(db: Database) -> uuid.UUID:
    from tests.factories import create_tenant

    return create_tenant(db).id
