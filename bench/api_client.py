"""API load and latency clients, each run as its own process by ``bench.bench_api``.

- ``latency URL TOKEN SPEC_JSON``: sequential requests (one at a time, so each latency is a
  request's own), ``{"method", "path", "params"|"json", "count", "max_seconds"}``; prints
  p50/p90/p99/max in milliseconds.
- ``load URL TOKEN SPEC_JSON``: background load for ``max_seconds`` (at most ``count``
  requests) from ``threads`` threads, mixing the requests of ``mix``; prints what it sent.

Both only ever talk to the URL given (127.0.0.1) and stop by themselves.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import threading
import time
from typing import Any

import httpx


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _send(client: httpx.Client, req: dict[str, Any]) -> int:
    body = req.get("json")
    if callable(body):
        body = body()
    resp = client.request(req["method"], req["path"], params=req.get("params"), json=body)
    return resp.status_code


def latency(url: str, token: str, spec: dict[str, Any]) -> None:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + float(spec.get("max_seconds", 60))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        _send(c, spec)  # warm the connection and the server's caches
        for i in range(int(spec["count"])):
            if time.monotonic() > deadline:
                break
            req = dict(spec)
            if "machines" in spec:  # andon: spread calls over machines
                req["json"] = {"machine_id": spec["machines"][i % len(spec["machines"])],
                               "call_type": "QA", "note": f"bench {i}"}  # fmt: skip
            start = time.perf_counter()
            status = _send(c, req)
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    print(json.dumps({
        "seconds": sum(latencies) / 1000, "count": len(latencies), "statuses": statuses,
        "p50_ms": statistics.median(latencies), "p90_ms": _percentile(latencies, 0.9),
        "p99_ms": _percentile(latencies, 0.99), "max_ms": max(latencies),
    }), flush=True)  # fmt: skip


def load(url: str, token: str, spec: dict[str, Any]) -> None:
    stop_at = time.monotonic() + float(spec["max_seconds"])
    budget = [int(spec["count"])]
    lock = threading.Lock()
    sent: dict[str, int] = {}

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as c:
            while time.monotonic() < stop_at:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                req = dict(rnd.choice(spec["mix"]))
                if "machines" in req:
                    req["json"] = {"machine_id": rnd.choice(req["machines"]), "call_type": "HELP"}
                status = _send(c, req)
                with lock:
                    key = f"{req['method']} {req['path']} {status}"
                    sent[key] = sent.get(key, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(int(spec["threads"]))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"seconds": time.perf_counter() - start, "sent": sent}), flush=True)


if __name__ == "__main__":
    mode, url, token, raw = sys.argv[1:5]
    {"latency": latency, "load": load}[mode](url, token, json.loads(raw))
