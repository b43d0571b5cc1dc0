"""Benchmark 2 — the dlt peer: the same machines pulled from the Oracle sandbox by PlantSync
(full inbound sync into SQLite) and by dlt's ``rest_api`` source into duckdb (its default
loader file format, and parquet), alternating run by run in one command.

dlt, duckdb and pyarrow are not PlantSync dependencies: they live in a separate venv
(``BENCH_VENV``, default ``var/bench-venv``) that ``make bench`` creates.
Environment: ``BENCH_RECORDS`` (100000), ``BENCH_RUNS`` (3).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench.bench_inbound import sync_once
from bench.harness import (
    ROOT,
    VAR,
    Series,
    env_int,
    machine_line,
    measure,
    sandbox,
    table,
    write_result,
)

BENCH_VENV = Path(os.environ.get("BENCH_VENV", ROOT / "var" / "bench-venv"))


def dlt_once(info_file: Path, parquet: bool) -> object:
    workdir = Path(tempfile.mkdtemp(prefix="dlt-", dir=VAR))
    try:
        args = [str(ROOT / "bench" / "dlt_job.py"), str(info_file), str(workdir)]
        return measure(
            args + (["--parquet"] if parquet else []), python=str(BENCH_VENV / "bin" / "python")
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    records = env_int("BENCH_RECORDS", 100_000)
    runs = env_int("BENCH_RUNS", 3)
    print(f"dlt peer: {records} machines (Oracle), {runs} runs, {machine_line()}", flush=True)
    ours = Series("plantsync sync sqlite")
    dlt_default = Series("dlt rest_api -> duckdb (default format)")
    dlt_parquet = Series("dlt rest_api -> duckdb (parquet)")
    with sandbox(records=records, providers=["oracle"]) as box:
        for _ in range(runs):
            ours.add(sync_once(box, "oracle", "sqlite"))  # type: ignore[arg-type]
            for series, parquet in ((dlt_default, False), (dlt_parquet, True)):
                m = series.add(dlt_once(box.info_file, parquet))  # type: ignore[arg-type]
                assert m.result["rows"] == records, m.result
    fastest = min(dlt_default.seconds, dlt_parquet.seconds)
    rows = [[s.name, f"{s.seconds:.2f}", f"{records / s.seconds:.0f}", f"{s.rss_mb:.0f}",
             f"{ours.seconds / s.seconds:.2f}"] for s in (ours, dlt_default, dlt_parquet)]  # fmt: skip
    print(table(["contender", "median s", "records/s", "peak RSS MB", "ours / this"], rows))
    print(f"ours / dlt's fastest = {ours.seconds / fastest:.2f}")
    write_result("dlt", {
        "records": records, "runs": runs,
        "series": {s.name: {"seconds": s.seconds, "rss_mb": s.rss_mb} for s in (ours, dlt_default, dlt_parquet)},
        "ours_over_fastest_dlt": ours.seconds / fastest,
    })  # fmt: skip


if __name__ == "__main__":
    main()
