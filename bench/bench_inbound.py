"""Benchmark 1 — inbound: machines pulled from the sandbox through paging, mapped and upserted
into SQLite and PostgreSQL, against the raw transfer of the same pages (plain httpx GETs,
bodies discarded), side by side in one run; then one protocol at a larger size to show that
memory stays flat.

Environment: ``BENCH_RECORDS`` (100000), ``BENCH_RUNS`` (3), ``BENCH_PROVIDERS``
(sap,dynamics,oracle), ``BENCH_BACKENDS`` (sqlite,postgres), ``BENCH_BIG_RECORDS`` (1000000;
0 skips), ``BENCH_BIG_PROVIDER`` (oracle).
"""

from __future__ import annotations

import os

from bench.harness import (
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


def sync_once(box: object, provider: str, backend: str) -> object:
    hub = new_hub(backend)
    try:
        _, conn_id = create_tenant_and_connection(hub, box, provider)  # type: ignore[arg-type]
        m = measure(["sync", str(conn_id), "--direction", "inbound", "--entity", "machine"],
                    env=hub.env)  # fmt: skip
    finally:
        drop_hub(hub)
    if m.result["status"] != "success":
        raise RuntimeError(f"{provider}/{backend} sync: {m.result}")
    return m


def compare(records: int, runs: int, providers: list[str], backends: list[str]) -> list[dict]:
    rows = []
    with sandbox(records=records, providers=providers) as box:
        for provider in providers:
            raw = Series(f"{provider} raw")
            syncs = {b: Series(f"{provider} sync {b}") for b in backends}
            for _ in range(runs):
                raw.add(measure(["raw", provider, str(box.info_file)]))
                for backend in backends:
                    m = syncs[backend].add(sync_once(box, provider, backend))  # type: ignore[arg-type]
                    assert m.result["written"] + m.result["skipped"] >= records * 0.9, m.result
            for backend, series in syncs.items():
                rows.append({
                    "provider": provider, "backend": backend, "records": records, "runs": runs,
                    "raw_s": raw.seconds, "sync_s": series.seconds,
                    "ratio": series.seconds / raw.seconds,
                    "records_per_s": records / series.seconds,
                    "sync_rss_mb": series.rss_mb, "raw_rss_mb": raw.rss_mb,
                    "pages": raw.runs[0].result["pages"],
                })  # fmt: skip
    return rows


def main() -> None:
    records = env_int("BENCH_RECORDS", 100_000)
    runs = env_int("BENCH_RUNS", 3)
    providers = os.environ.get("BENCH_PROVIDERS", "sap,dynamics,oracle").split(",")
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
    print(f"inbound: {records} machines, {runs} runs, {machine_line()}", flush=True)
    rows = compare(records, runs, providers, backends)
    big = env_int("BENCH_BIG_RECORDS", 1_000_000)
    big_rows = []
    if big:
        provider = os.environ.get("BENCH_BIG_PROVIDER", "oracle")
        big_rows = compare(big, 1, [provider], ["sqlite"])
    print(table(
        ["provider", "db", "records", "raw s", "sync s", "sync/raw", "records/s", "peak RSS MB"],
        [[r["provider"], r["backend"], r["records"], f"{r['raw_s']:.2f}", f"{r['sync_s']:.2f}",
          f"{r['ratio']:.2f}x", f"{r['records_per_s']:.0f}", f"{r['sync_rss_mb']:.0f}"]
         for r in rows + big_rows],
    ))  # fmt: skip
    write_result("inbound", {"rows": rows, "big": big_rows})


if __name__ == "__main__":
    main()
