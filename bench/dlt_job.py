"""The dlt peer (run with the separate bench venv's Python, never the product's): the same
machines pulled from the Oracle sandbox by dlt's ``rest_api`` source into its default local
destination (duckdb), with dlt's default loader file format or with parquet.

``python bench/dlt_job.py INFO_FILE WORKDIR [--parquet]``; prints one JSON line like the
product's jobs (``seconds``, ``rows``, ``peak_rss_mb``). Only the standard library and dlt.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    info_file, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    parquet = "--parquet" in sys.argv
    info = json.loads(info_file.read_text())["oracle"]
    workdir.mkdir(parents=True, exist_ok=True)
    ca = workdir / "ca.pem"
    ca.write_text(info["tls"]["ca_bundle_pem"])
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca)  # dlt's client is requests-based
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    import dlt
    from dlt.sources.rest_api import rest_api_source

    auth = info["auth_config"]
    source = rest_api_source({
        "client": {
            "base_url": f"{info['base_url']}/fscmRestApi/resources/11.13.18.05/",
            "auth": {"type": "http_basic", "username": auth["username"],
                     "password": auth["password"]},
            "paginator": {"type": "offset", "limit": 500, "offset_param": "offset",
                          "limit_param": "limit", "total_path": None,
                          "has_more_path": "hasMore"},
        },
        "resources": [{
            "name": "machines",
            "endpoint": {"path": "installedBaseAssets", "data_selector": "items",
                         "params": {"onlyData": "true",
                                    "orderBy": "LastUpdateDate:asc,AssetId:asc"}},
            "primary_key": "AssetId",
            "write_disposition": "merge",
        }],
    })  # fmt: skip
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(workdir / "bench.duckdb")),
        dataset_name="erp",
    )
    start = time.perf_counter()
    pipeline.run(source, loader_file_format="parquet" if parquet else None)
    seconds = time.perf_counter() - start
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM machines")[0][0]
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_mb": peak_rss_mb(),
                      "format": "parquet" if parquet else "default"}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
