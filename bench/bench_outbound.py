"""Benchmarks 3 and 4 — outbound: work orders pushed in bulk ($batch / the batch media type)
against one request per record, and the incremental run after 1% of them changed.

Per provider and run: a fresh SQLite hub, an inbound machine sync (the work orders need
machines the ERP knows), ``BENCH_OUT_RECORDS`` work orders written locally, then the measured
outbound runs. Request counts are the sandbox's own counters (``/_sandbox/requests``).
Environment: ``BENCH_OUT_RECORDS`` (100000), ``BENCH_RUNS`` (3), ``BENCH_OUT_PROVIDERS`` (else
``BENCH_PROVIDERS``, as in the other benchmarks; default sap,dynamics,oracle),
``BENCH_OUT_BACKEND`` (sqlite), ``BENCH_OUT_PER_RECORD`` (1; 0 skips the per-record contender,
for measuring bulk and the 1% incremental run at sizes where one request per record would take
hours).
"""

from __future__ import annotations

import os
from typing import Any

from bench.harness import (
    SandboxProcess,
    Series,
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
from bench.seed import seed_work_orders, touch_work_orders

MACHINES = 200


def _writes(box: SandboxProcess, provider: str) -> int:
    stats = box.requests(provider)
    return int(stats["total"])


def _prepared(
    box: SandboxProcess, provider: str, backend: str, records: int
) -> tuple[Any, Any, Any]:
    hub = new_hub(backend)
    tenant_id, conn_id = create_tenant_and_connection(hub, box, provider)
    m = measure(
        ["sync", str(conn_id), "--direction", "inbound", "--entity", "machine"], env=hub.env
    )
    assert m.result["status"] == "success", m.result
    db = hub.database()
    seed_work_orders(db, tenant_id, conn_id, records)
    return hub, db, (tenant_id, conn_id)


def _push(
    box: SandboxProcess, hub: Any, conn_id: Any, *, per_record: bool = False
) -> tuple[Any, int]:
    box.clear_requests()
    args = ["sync", str(conn_id), "--direction", "outbound", "--entity", "work_order"]
    m = measure(args + (["--per-record"] if per_record else []), env=hub.env)
    return m, _writes(box, hub.provider)


def one_provider(
    box: SandboxProcess, provider: str, backend: str, records: int, runs: int, *, single_too: bool
) -> dict[str, Any]:
    bulk, single, incr = (
        Series(f"{provider} bulk"),
        Series(f"{provider} per-record"),
        Series(f"{provider} 1% changed"),
    )
    reqs: dict[str, list[int]] = {"bulk": [], "single": [], "incremental": []}
    changed = 0
    for _ in range(runs):
        for mode in ("bulk", "single") if single_too else ("bulk",):
            hub, db, (tenant_id, conn_id) = _prepared(box, provider, backend, records)
            hub.provider = provider
            try:
                m, n = _push(box, hub, conn_id, per_record=mode == "single")
                assert m.result["status"] == "success" and m.result["failed"] == 0, m.result
                assert m.result["written"] == records, m.result
                (bulk if mode == "bulk" else single).add(m)
                reqs[mode].append(n)
                if mode == "bulk":
                    changed = touch_work_orders(db, tenant_id, 0.01)
                    m2, n2 = _push(box, hub, conn_id)
                    assert m2.result["written"] == changed, m2.result
                    incr.add(m2)
                    reqs["incremental"].append(n2)
            finally:
                db.dispose()
                drop_hub(hub)
    med = lambda xs: sorted(xs)[len(xs) // 2] if xs else None  # noqa: E731
    single_s = single.seconds if single.runs else None
    return {
        "provider": provider, "backend": backend, "records": records, "runs": runs,
        "bulk_s": bulk.seconds, "single_s": single_s, "incremental_s": incr.seconds,
        "bulk_requests": med(reqs["bulk"]), "single_requests": med(reqs["single"]),
        "incremental_requests": med(reqs["incremental"]), "changed": changed,
        "bulk_rss_mb": bulk.rss_mb, "single_rss_mb": single.rss_mb if single.runs else None,
        "throughput_ratio": single_s / bulk.seconds if single_s else None,
        "request_ratio": med(reqs["single"]) / max(1, med(reqs["bulk"])) if single_s else None,
        "incremental_ratio": incr.seconds / bulk.seconds,
    }  # fmt: skip


def _fmt(value: Any, pattern: str = "{}") -> str:
    return "-" if value is None else pattern.format(value)


def main() -> None:
    records = env_int("BENCH_OUT_RECORDS", 100_000)
    runs = env_int("BENCH_RUNS", 3)
    providers = (
        os.environ.get("BENCH_OUT_PROVIDERS")
        or os.environ.get("BENCH_PROVIDERS")
        or "sap,dynamics,oracle"
    ).split(",")
    backend = os.environ.get("BENCH_OUT_BACKEND", "sqlite")
    single_too = env_int("BENCH_OUT_PER_RECORD", 1) != 0
    print(f"outbound: {records} work orders, {runs} runs, {machine_line()}", flush=True)
    rows = []
    with sandbox(records=MACHINES, providers=providers) as box:
        for provider in providers:
            rows.append(one_provider(box, provider, backend, records, runs, single_too=single_too))
    print(table(
        ["provider", "records", "bulk s", "per-record s", "throughput ratio", "bulk requests",
         "per-record requests", "request ratio", "1% changed s", "1% / full", "1% requests"],
        [[r["provider"], r["records"], f"{r['bulk_s']:.2f}", _fmt(r["single_s"], "{:.2f}"),
          _fmt(r["throughput_ratio"], "{:.1f}x"), r["bulk_requests"], _fmt(r["single_requests"]),
          _fmt(r["request_ratio"], "{:.0f}x"), f"{r['incremental_s']:.2f}",
          f"{100 * r['incremental_ratio']:.1f}%", r["incremental_requests"]] for r in rows],
    ))  # fmt: skip
    write_result("outbound", {"rows": rows})


if __name__ == "__main__":
    main()
