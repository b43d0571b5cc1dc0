"""Benchmark 5 — the API under data and load: ``GET /api/v1/erp/logs`` over
``BENCH_LOG_ROWS`` (1,000,000) sync logs on SQLite and PostgreSQL — first page, a deep page
through the cursor, filtered — and ``POST /api/v1/calls`` (andon) while a second process keeps
the API busy. The API is the real ``plantsync serve`` process; clients are other processes;
everything on 127.0.0.1, bounded in count and time.

Environment: ``BENCH_LOG_ROWS`` (1000000), ``BENCH_BACKENDS`` (sqlite,postgres),
``BENCH_REQUESTS`` (500 per scenario), ``BENCH_LOAD_SECONDS`` (60), ``BENCH_LOAD_THREADS`` (4).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from bench.harness import (
    PYTHON,
    ROOT,
    Hub,
    create_tenant_and_connection,
    drop_hub,
    env_int,
    machine_line,
    measure,
    new_hub,
    sandbox,
    table,
    write_result,
)

CHUNK = 20_000


def bulk_load_logs(
    hub: Hub, tenant_id: uuid.UUID, connections: list[uuid.UUID], rows: int
) -> float:
    """Inserts ``rows`` finished sync logs over the last year with SQLAlchemy's executemany
    (batched multi-row INSERTs on PostgreSQL); returns the seconds it took."""
    from plantsync.core.models.integration import SyncLog

    table_ = SyncLog.__table__  # type: ignore[attr-defined]
    db = hub.database()
    rnd = random.Random(7)
    now = datetime.now(UTC)
    statuses = ["success"] * 8 + ["failed", "skipped"]
    pairs = [("inbound", "machine"), ("outbound", "work_order"), ("outbound", "downtime"),
             ("outbound", "production_data")]  # fmt: skip
    start = time.perf_counter()
    for first in range(0, rows, CHUNK):
        batch = []
        for i in range(first, min(rows, first + CHUNK)):
            created = now - timedelta(seconds=(rows - i) * 31_536_000 / rows)
            direction, entity = pairs[i % len(pairs)]
            batch.append({
                "id": uuid.uuid4(), "tenant_id": tenant_id,
                "connection_id": connections[i % len(connections)], "direction": direction,
                "entity_type": entity, "trigger": "schedule", "status": rnd.choice(statuses),
                "message": "Sent 120 work_order record(s)", "created_at": created,
                "started_at": created, "finished_at": created + timedelta(seconds=2),
                "duration_ms": 2000, "records_read": 120, "records_written": 120,
                "records_failed": 0, "records_skipped": 0, "errors_total": 0, "attempt": 1,
            })  # fmt: skip
        with db.engine.begin() as conn:
            conn.execute(sa.insert(table_), batch)
    seconds = time.perf_counter() - start
    with db.engine.begin() as conn:
        if hub.backend == "postgres":
            conn.execute(sa.text("ANALYZE sync_log"))
        else:
            conn.execute(sa.text("ANALYZE"))
    db.dispose()
    return seconds


def deep_cursor(hub: Hub, tenant_id: uuid.UUID, depth: int) -> str:
    """The cursor a client holds after paging ``depth`` rows down (newest first)."""
    from plantsync.core.models.integration import SyncLog
    from plantsync.core.paging import encode_cursor

    t = SyncLog.__table__  # type: ignore[attr-defined]
    db = hub.database()
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.select(t.c.created_at, t.c.id)
            .where(t.c.tenant_id == tenant_id)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(1)
            .offset(depth)
        ).one()
    db.dispose()
    return encode_cursor([row[0], row[1]])


def token_for(hub: Hub, tenant_id: uuid.UUID) -> str:
    from plantsync.core.clock import SYSTEM_CLOCK
    from plantsync.core.config import get_settings
    from plantsync.core.models import User
    from plantsync.core.principal import Role
    from plantsync.core.security import encode_access_token, hash_password

    settings = get_settings()
    db = hub.database()
    user = User(tenant_id=tenant_id, email=f"bench-{uuid.uuid4().hex[:6]}@example.com",
                password_hash=hash_password(settings, uuid.uuid4().hex), role=Role.admin)  # fmt: skip
    with db.write_session() as s:
        s.add(user)
    db.dispose()
    token, _ = encode_access_token(
        settings, subject_id=user.id, tenant_id=tenant_id, kind="user", clock=SYSTEM_CLOCK
    )
    return token


def demo_machines(hub: Hub, tenant_id: uuid.UUID) -> list[str]:
    from sqlmodel import select

    from plantsync.core.models.plant import Machine
    from plantsync.core.services.demo import fill_demo

    db = hub.database()
    with db.write_session() as s:
        fill_demo(session=s, tenant_id=tenant_id)
    with db.read_session() as s:
        ids = [
            str(m) for m in s.exec(select(Machine.id).where(Machine.tenant_id == tenant_id)).all()
        ]
    db.dispose()
    return ids


class Server:
    """``plantsync serve`` on a free port of 127.0.0.1 with the hub's environment."""

    def __init__(self, hub: Hub) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "plantsync"), "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=hub.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("plantsync serve did not answer")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def latency(server: Server, token: str, spec: dict[str, Any]) -> dict[str, Any]:
    m = measure(
        [str(ROOT / "bench" / "api_client.py"), "latency", server.url, token, json.dumps(spec)]
    )
    return m.result


def one_backend(backend: str, rows: int, requests: int, box: Any) -> list[dict[str, Any]]:
    hub = new_hub(backend)
    out: list[dict[str, Any]] = []
    try:
        conns = [
            create_tenant_and_connection(hub, box, "oracle", active=False)[1] for _ in range(3)
        ]
        from sqlmodel import select

        from plantsync.core.models.integration import Connection

        db = hub.database()
        with db.read_session() as s:
            tenant_id = s.exec(select(Connection.tenant_id).where(Connection.id == conns[0])).one()
        db.dispose()
        load_s = bulk_load_logs(hub, tenant_id, conns, rows)
        print(f"  {backend}: {rows} logs loaded in {load_s:.1f} s", flush=True)
        machines = demo_machines(hub, tenant_id)
        cursor = deep_cursor(hub, tenant_id, int(rows * 0.9))
        token = token_for(hub, tenant_id)
        server = Server(hub)
        try:
            window = {"from": (datetime.now(UTC) - timedelta(days=200)).isoformat(),
                      "to": (datetime.now(UTC) - timedelta(days=100)).isoformat()}  # fmt: skip
            scenarios = {
                "first page": {"params": {"limit": 50}},
                "deep page (cursor at 90%)": {"params": {"limit": 50, "cursor": cursor}},
                "filtered: connection+status+direction": {"params": {
                    "limit": 50, "connection_id": str(conns[1]), "status": "failed",
                    "direction": "outbound"}},
                "filtered: entity_type+from/to": {"params": {
                    "limit": 50, "entity_type": "work_order", **window}},
            }  # fmt: skip
            for name, extra in scenarios.items():
                spec = {"method": "GET", "path": "/api/v1/erp/logs", "count": requests,
                        "max_seconds": 120, **extra}  # fmt: skip
                result = latency(server, token, spec)
                out.append({"backend": backend, "scenario": f"GET /erp/logs {name}", **result})
                print(
                    f"  {backend} {name}: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms",
                    flush=True,
                )
            out.append(andon_under_load(server, token, machines, requests, backend))
        finally:
            server.stop()
    finally:
        drop_hub(hub)
    return out


def andon_under_load(
    server: Server, token: str, machines: list[str], requests: int, backend: str
) -> dict[str, Any]:
    seconds = env_int("BENCH_LOAD_SECONDS", 60)
    load_spec = {
        "threads": env_int("BENCH_LOAD_THREADS", 4), "max_seconds": seconds, "count": 200_000,
        "mix": [
            {"method": "GET", "path": "/api/v1/erp/logs", "params": {"limit": 50}},
            {"method": "GET", "path": "/api/v1/machines", "params": {"limit": 50}},
            {"method": "GET", "path": "/api/v1/calls", "params": {"limit": 50}},
            {"method": "POST", "path": "/api/v1/calls", "machines": machines},
        ],
    }  # fmt: skip
    loader = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "api_client.py"), "load", server.url, token, json.dumps(load_spec)],
        cwd=ROOT, stdout=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(2)  # let the load reach its pace before measuring
    spec = {"method": "POST", "path": "/api/v1/calls", "count": requests,
            "max_seconds": max(5, seconds - 5), "machines": machines}  # fmt: skip
    result = latency(server, token, spec)
    out, _ = loader.communicate(timeout=seconds + 120)
    sent = json.loads(out.decode().strip().splitlines()[-1])
    total = sum(sent["sent"].values())
    print(f"  {backend} andon under load: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms "
          f"(background {total} requests in {sent['seconds']:.0f} s)", flush=True)  # fmt: skip
    return {"backend": backend, "scenario": "POST /calls under load", **result,
            "background_requests": total, "background_rps": total / sent["seconds"],
            "background_statuses": sent["sent"]}  # fmt: skip


def main() -> None:
    rows = env_int("BENCH_LOG_ROWS", 1_000_000)
    requests = env_int("BENCH_REQUESTS", 500)
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
    print(f"API: {rows} sync logs, {requests} requests per scenario, {machine_line()}", flush=True)
    results: list[dict[str, Any]] = []
    with sandbox(records=10, providers=["oracle"]) as box:
        for backend in backends:
            results += one_backend(backend, rows, requests, box)
    print(table(
        ["db", "scenario", "n", "p50 ms", "p99 ms", "max ms", "statuses"],
        [[r["backend"], r["scenario"], r["count"], f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
          f"{r['max_ms']:.1f}", r["statuses"]] for r in results],
    ))  # fmt: skip
    write_result("api", {"rows": rows, "results": results})


if __name__ == "__main__":
    main()
