"""The benchmark harness: sandbox ERPs in their own process, fresh hub databases, measured jobs.

Every measured job runs in a child process (``python -m bench.jobs ...``): its wall time is
taken inside the child around the measured work only (imports and set-up excluded, the same
for every contender), and its peak RSS is the child's own ``VmHWM`` (``/proc/self/status``) at its end. Contenders of one benchmark alternate run by run (A, B, A, B, ...) so that noise
from other work on the machine falls on all of them alike; figures are medians.

Sizes and repetitions come from the environment (``BENCH_RECORDS``, ``BENCH_RUNS``) so a
developer can run a benchmark small; ``make bench`` runs the published sizes.
Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable
POSTGRES_URL = os.environ.get(
    "PLANTSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "bench-secret-key-" + "0" * 32
ENCRYPTION_KEY = Fernet.generate_key().decode()


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


# -- the sandbox ----------------------------------------------------------------------------


class SandboxProcess:
    """``bench.sandbox_server`` in a child process (so its CPU and memory are not ours)."""

    def __init__(
        self, *, records: int, providers: Sequence[str], faults: dict[str, Any] | None = None
    ) -> None:
        VAR.mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(dir=VAR)
        info_file = Path(self._dir.name) / "info.json"
        args = [PYTHON, "-m", "bench.sandbox_server", "--records", str(records),
                "--providers", ",".join(providers), "--info-file", str(info_file)]  # fmt: skip
        if faults:
            args += ["--faults", json.dumps(faults)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while not info_file.exists() or not info_file.read_text().strip().endswith("}"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.2)
        self.info_file = info_file
        self.info: dict[str, dict[str, Any]] = json.loads(info_file.read_text())
        first = next(iter(self.info.values()))
        self.origin = first["base_url"].split("/", 3)[0] + "//" + first["base_url"].split("/")[2]
        self.ca_pem: str = first["tls"]["ca_bundle_pem"]
        self.ca_file = Path(self._dir.name) / "ca.pem"
        self.ca_file.write_text(self.ca_pem)
        self.control = httpx.Client(
            base_url=self.origin, verify=ssl.create_default_context(cadata=self.ca_pem), timeout=600
        )

    def requests(self, provider: str) -> dict[str, Any]:
        """The sandbox's request counters of ``provider`` (``total``, ``methods``, ...)."""
        resp = self.control.get("/_sandbox/requests", params={"provider": provider})
        resp.raise_for_status()
        return dict(resp.json()[provider])

    def clear_requests(self) -> None:
        self.control.delete("/_sandbox/requests").raise_for_status()

    def set_faults(self, **faults: Any) -> None:
        self.control.put("/_sandbox/faults", json=faults).raise_for_status()

    def reset(self, records: int | None = None) -> None:
        self.control.post("/_sandbox/reset", json={"records": records}).raise_for_status()

    def dump(self, provider: str, entity: str) -> list[dict[str, Any]]:
        resp = self.control.get(f"/_sandbox/dump/{provider}/{entity}")
        resp.raise_for_status()
        return list(resp.json())

    def close(self) -> None:
        self.control.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._dir.cleanup()


@contextmanager
def sandbox(**kwargs: Any) -> Iterator[SandboxProcess]:
    proc = SandboxProcess(**kwargs)
    try:
        yield proc
    finally:
        proc.close()


# -- hub databases ----------------------------------------------------------------------------


@dataclass
class Hub:
    """One fresh hub database (SQLite file or PostgreSQL schema) and the env of its processes."""

    backend: str
    url: str
    data_dir: Path
    schema: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    provider: str = ""

    def database(self) -> Any:
        from plantsync.core.db import Database

        return Database(self.url)


def new_hub(backend: str) -> Hub:
    """A migrated, empty hub database on ``backend`` (``sqlite`` or ``postgres``)."""
    VAR.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix=f"hub-{backend}-", dir=VAR))
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{(data_dir / 'plantsync.db').as_posix()}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    env = {
        **os.environ,
        "PLANTSYNC_DATABASE_URL": url,
        "PLANTSYNC_DATA_DIR": str(data_dir),
        "PLANTSYNC_SECRET_KEY": SECRET_KEY,
        "PLANTSYNC_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "PLANTSYNC_LOG_LEVEL": "WARNING",
        "PLANTSYNC_PASSWORD_HASH_COST": "low",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("PLANTSYNC_")})
    from plantsync.core import migrate
    from plantsync.core.config import get_settings

    get_settings.cache_clear()
    hub = Hub(backend=backend, url=url, data_dir=data_dir, schema=schema, env=env)
    db = hub.database()
    migrate.upgrade(db)
    db.dispose()
    return hub


def drop_hub(hub: Hub) -> None:
    import shutil

    shutil.rmtree(hub.data_dir, ignore_errors=True)
    if hub.schema:
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{hub.schema}" CASCADE'))
        admin.dispose()


def create_tenant_and_connection(
    hub: Hub,
    box: SandboxProcess,
    provider: str,
    *,
    name: str | None = None,
    tenant: str = "bench",
    active: bool = True,
    interval_minutes: int = 1440,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant (created once) and a connection of it to the sandbox's ``provider``."""
    from sqlmodel import select

    from plantsync.core.config import get_settings
    from plantsync.core.models import Tenant
    from plantsync.core.models.connections import ConnectionCreate, TLSSettings
    from plantsync.core.principal import Principal
    from plantsync.core.services.connections import create_connection
    from plantsync.core.services.tenants import create_tenant

    db = hub.database()
    info = box.info[provider]
    with db.session(write=True) as session:
        found = session.exec(select(Tenant).where(Tenant.name == tenant)).first()
        tenant_row = found or create_tenant(session=session, name=tenant)
        conn = create_connection(
            session=session,
            tenant_id=tenant_row.id,
            data=ConnectionCreate(
                name=name or f"{provider}-{uuid.uuid4().hex[:6]}",
                provider=provider,
                base_url=info["base_url"],
                auth_config=info["auth_config"],
                sync_interval_minutes=interval_minutes,
                is_active=active,
                tls=TLSSettings(ca_bundle_pem=box.ca_pem),
                outbound_start_from=datetime(2000, 1, 1, tzinfo=UTC),
            ),
            principal=Principal.system(tenant_row.id),
            settings=get_settings(),
        )
        ids = (tenant_row.id, conn.id)
    db.dispose()
    return ids


# -- measured child processes -----------------------------------------------------------------


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    result: dict[str, Any]


def measure(
    args: Sequence[str], *, env: dict[str, str] | None = None, python: str = PYTHON
) -> Measurement:
    """Runs ``python -m bench.jobs ARGS`` (or ``python ARGS[0] ...`` when ARGS[0] is a file) in
    a child; the child prints one JSON object (with ``seconds``) as its last stdout line."""
    cmd = [python, *args] if args[0].endswith(".py") else [python, "-m", "bench.jobs", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env or dict(os.environ), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    # The child's own VmHWM when it reports one; ru_maxrss also counts the parent's pages the
    # child carried between fork and exec, so it is only the fallback.
    rss = float(result.get("peak_rss_mb") or usage.ru_maxrss / 1024)
    return Measurement(float(result["seconds"]), rss, result)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Series:
    """Repeated measurements of one contender."""

    name: str
    runs: list[Measurement] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return median([m.seconds for m in self.runs])

    @property
    def rss_mb(self) -> float:
        return max(m.peak_rss_mb for m in self.runs)

    def add(self, m: Measurement) -> Measurement:
        self.runs.append(m)
        print(f"  {self.name}: {m.seconds:.2f} s, peak RSS {m.peak_rss_mb:.0f} MB", flush=True)
        return m


def machine_line() -> str:
    cpus = os.cpu_count()
    return (f"{cpus} cores, Python {sys.version.split()[0]}, "
            f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")  # fmt: skip


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Keeps a benchmark's figures as JSON under var/bench/results/ (and prints its path)."""
    out = VAR / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    payload = {"machine": machine_line(), "command": " ".join(sys.argv), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"results: {path}")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
