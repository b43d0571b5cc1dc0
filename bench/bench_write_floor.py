"""The write floor of an inbound machine sync: what the database alone costs for the rows one
synced machine needs (the machine, the first interval of its status history, its link),
written in slices of 250 with the driver's own ``executemany`` of ready-made tuples — no
mapping, no validation, no SQLAlchemy — into a migrated hub (same tables, indexes and foreign
keys). Compare its microseconds per record with the raw transfer's (``bench_inbound``): no
design that writes these rows one statement execution per row can be faster than this.

Environment: ``BENCH_RECORDS`` (100000), ``BENCH_BACKENDS`` (sqlite,postgres), ``BENCH_RUNS`` (3).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.harness import drop_hub, env_int, machine_line, median, new_hub, table, write_result

SLICE = 250


def _rows(n: int, tenant: uuid.UUID, conn: uuid.UUID, sqlite: bool) -> list[tuple[Any, ...]]:
    """(machine, status, link) parameter tuples for ``n`` new machines."""
    now: Any = datetime.now(UTC)
    if sqlite:
        now = now.replace(tzinfo=None).isoformat(" ")

    def ident(u: uuid.UUID) -> Any:
        return u.hex if sqlite else u

    out = []
    for i in range(n):
        mid = uuid.uuid4()
        out.append((
            (ident(mid), ident(tenant), f"M-{i:07d}", f"Machine {i}", "press", "ACME", "X1",
             f"SN{i}", "CC1", 12.5, True, "idle", now, now, now, i + 1, 0, "sync",
             ident(conn), ident(conn)),
            (ident(uuid.uuid4()), ident(tenant), ident(mid), "idle", now, "sync"),
            (ident(uuid.uuid4()), ident(tenant), ident(conn), "machine", ident(mid), f"K{i}",
             "linked", "0" * 64, "inbound", now, now, now),
        ))  # fmt: skip
    return out


_MACHINE = (
    "INSERT INTO machine (id, tenant_id, code, name, type, manufacturer, model, serial_number,"
    " cost_center, ideal_cycle_time_s, is_active, status, status_since, created_at, updated_at,"
    " change_seq, change_xid, origin_kind, origin_id, origin_connection_id)"
    " VALUES ({})".format(", ".join(["{p}"] * 20))
)
_STATUS = (
    "INSERT INTO machine_status_change (id, tenant_id, machine_id, status, started_at,"
    " origin_kind) VALUES ({})".format(", ".join(["{p}"] * 6))
)
_LINK = (
    "INSERT INTO external_link (id, tenant_id, connection_id, entity_type, local_id, erp_key,"
    " state, sent_hash, last_direction, last_synced_at, created_at, updated_at)"
    " VALUES ({})".format(", ".join(["{p}"] * 12))
)


def _setup(hub: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant and a connection for the foreign keys (through the product's services)."""
    from plantsync.core.config import get_settings
    from plantsync.core.models.connections import ConnectionCreate
    from plantsync.core.principal import Principal
    from plantsync.core.services.connections import create_connection
    from plantsync.core.services.tenants import create_tenant

    db = hub.database()
    with db.session(write=True) as session:
        tenant = create_tenant(session=session, name="floor")
        conn = create_connection(
            session=session,
            tenant_id=tenant.id,
            data=ConnectionCreate(
                name="floor", provider="oracle", base_url="https://erp.example.com",
                auth_config={"username": "u", "password": "p"},
            ),
            principal=Principal.system(tenant.id), settings=get_settings(),
        )  # fmt: skip
        ids = (tenant.id, conn.id)
    db.dispose()
    return ids


def run_once(backend: str, records: int) -> float:
    hub = new_hub(backend)
    try:
        tenant, conn = _setup(hub)
        engine = sa.create_engine(hub.url)
        sqlite = backend == "sqlite"
        p = "?" if sqlite else "%s"
        sql = [s.replace("{p}", p) for s in (_MACHINE, _STATUS, _LINK)]
        rows = _rows(records, tenant, conn, sqlite)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            start = time.perf_counter()
            for first in range(0, records, SLICE):
                part = rows[first : first + SLICE]
                if sqlite:
                    cur.execute("BEGIN IMMEDIATE")
                for index, statement in enumerate(sql):
                    cur.executemany(statement, [r[index] for r in part])
                raw.commit()
            return time.perf_counter() - start
        finally:
            raw.close()
            engine.dispose()
    finally:
        drop_hub(hub)


def main() -> None:
    records = env_int("BENCH_RECORDS", 100_000)
    runs = env_int("BENCH_RUNS", 3)
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
    print(f"write floor: {records} machines (3 rows each), {runs} runs, {machine_line()}")
    results = []
    for backend in backends:
        times = [run_once(backend, records) for _ in range(runs)]
        seconds = median(times)
        print(f"  {backend}: {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
        results.append({"backend": backend, "records": records, "runs": runs,
                        "seconds": seconds, "us_per_record": seconds / records * 1e6})  # fmt: skip
    print(table(
        ["db", "records", "median s", "us per record"],
        [[r["backend"], r["records"], f"{r['seconds']:.2f}", f"{r['us_per_record']:.0f}"]
         for r in results],
    ))  # fmt: skip
    write_result("write_floor", {"results": results})


if __name__ == "__main__":
    main()
