"""``plantsync sandbox``: local fake ERPs (SAP, Dynamics 365, Oracle) over HTTPS for demos,
tests and benchmarks. The sandbox package is imported only when this command runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from plantsync.cli.common import stderr
from plantsync.errors import ValidationError


def sandbox(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8443, "--port", min=0, max=65535, help="Port (0: any free port)."),
    records: int = typer.Option(
        200, "--records", min=0, max=1_000_000, help="Records generated per entity."
    ),
    fault_rate: float = typer.Option(
        0.0, "--fault-rate", min=0.0, max=1.0, help="Fraction of requests answered 5xx."
    ),
    fault_after_commit: bool = typer.Option(
        False,
        "--fault-after-commit",
        help="Faulted writes are applied first and only their answer is lost.",
    ),
    throttle: str | None = typer.Option(
        None,
        "--throttle",
        metavar="BURST[:EVERY[:RETRY_AFTER]]",
        help="Bursts of 429 with Retry-After, e.g. 3:50:2 (3 in a row every 50 requests, 2 s).",
    ),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="Delay added to each request."),
    drop_rate: float = typer.Option(
        0.0, "--drop-rate", min=0.0, max=1.0, help="Fraction of GET answers cut mid-body."
    ),
    info_file: Path | None = typer.Option(
        None, "--info-file", help="Also write the connection info (JSON) to this file."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated data and the faults."),
) -> None:
    """Serve the three sandbox ERPs; print each one's base_url, auth_config and CA bundle."""
    from plantsync.sandbox.faults import FaultConfig, Throttle
    from plantsync.sandbox.server import Sandbox, SandboxRunner

    try:
        faults = FaultConfig(
            error_rate=fault_rate,
            after_commit=fault_after_commit,
            throttle=Throttle.parse(throttle) if throttle else None,
            latency_ms=latency_ms,
            drop_rate=drop_rate,
            seed=seed,
        )
    except ValueError as exc:
        raise ValidationError({"--throttle": [str(exc).splitlines()[0]]}) from None
    app = Sandbox(records=records, seed=seed, faults=faults)
    for name in app.missing:
        stderr.print(f"warning: the {name} sandbox is not available", highlight=False)
    try:
        runner = SandboxRunner(app, host=host, port=port)
    except OSError as exc:
        raise ValidationError({"--port": [f"cannot listen on {host}:{port}: {exc}"]}) from None
    info = app.info()
    _publish(info, info_file)
    stderr.print(
        f"Sandbox ERPs on {runner.origin} ({', '.join(info)}); {records} records per entity. "
        "Ctrl-C stops.",
        highlight=False,
    )
    runner.serve()


def _publish(info: dict[str, Any], info_file: Path | None) -> None:
    text = json.dumps(info, indent=2)
    typer.echo(text)
    if info_file is not None:
        info_file.write_text(text + "\n", encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
