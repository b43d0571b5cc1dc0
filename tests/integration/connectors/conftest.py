"""The sandbox ERPs over real HTTPS for connector tests.

``sandbox`` (session-scoped) serves the three fake ERPs from a background thread on a free
port; every test that uses it starts with no faults and zeroed request counters. Data is
regenerated only on ``sandbox.reset()``. ``connector_for(provider, **overrides)`` builds a
connector the way the product does: a ``ConnectorConfig`` from the sandbox's info and the
provider's default mapping, the class from the registry.

Sizes come from ``PLANTSYNC_TEST_RECORDS`` (records per entity; keep it a few thousand at most).
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from plantsync.connectors.base import Connector, ConnectorConfig
from plantsync.connectors.http import RetryPolicy, TLSConfig
from plantsync.connectors.registry import build_connector, get_connector_class
from plantsync.mappings.schema import load_default_mapping
from plantsync.sandbox.server import Sandbox, SandboxRunner

RECORDS = int(os.environ.get("PLANTSYNC_TEST_RECORDS", "1200"))
PROVIDERS = ("sap", "dynamics", "oracle")
TENANT_ID = uuid.UUID("7d8f5c1e-0000-4000-8000-000000000001")
CONNECTION_ID = uuid.UUID("7d8f5c1e-0000-4000-8000-000000000002")
# Quick retries: tests wait for what the ERP asks (Retry-After), not for long backoffs.
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_total_s=30.0)


class SandboxHandle:
    """A running sandbox and its control endpoints (``/_sandbox/...``)."""

    def __init__(self, runner: SandboxRunner) -> None:
        self.runner = runner
        self.url = runner.origin
        self.ca_pem = runner.material.ca_pem
        ctx = ssl.create_default_context(cadata=self.ca_pem)
        self.control = httpx.Client(base_url=self.url, verify=ctx, timeout=60)
        self.info: dict[str, dict[str, Any]] = self._ok(self.control.get("/_sandbox/info"))

    @property
    def providers(self) -> list[str]:
        return list(self.info)

    def set_faults(self, **faults: Any) -> None:
        """Replace the injected faults (``FaultConfig`` fields; none: a healthy ERP)."""
        self._ok(self.control.put("/_sandbox/faults", json=faults))

    def reset(self, *, records: int | None = None, providers: list[str] | None = None) -> None:
        """Regenerate the data (of ``providers``, default all) and clear the counters."""
        body: dict[str, Any] = {"records": records, "providers": providers}
        self._ok(self.control.post("/_sandbox/reset", json=body))

    def dump(self, provider: str, entity: str) -> list[dict[str, Any]]:
        return list(self._ok(self.control.get(f"/_sandbox/dump/{provider}/{entity}")))

    def requests(self, provider: str) -> dict[str, Any]:
        """``{"total", "methods": {GET: n}, "statuses", "faults", "auth", "log": [...]}``."""
        stats = self._ok(self.control.get("/_sandbox/requests", params={"provider": provider}))
        return dict(stats[provider])

    def clear_requests(self) -> None:
        self.control.delete("/_sandbox/requests").raise_for_status()

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Return once no ERP request is in flight (the server answers when that happens)."""
        answer = self.control.get(
            "/_sandbox/idle", params={"timeout": timeout_s}, timeout=timeout_s + 10
        )
        assert answer.status_code == 200, f"requests still in flight after {timeout_s} s"

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"sandbox control: {response.status_code} {response.text}")
        return response.json()

    def close(self) -> None:
        self.control.close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    runner = SandboxRunner(Sandbox(records=RECORDS, seed=7), host="127.0.0.1", port=0)
    runner.start()
    handle = SandboxHandle(runner)
    try:
        yield handle
    finally:
        handle.close()
        runner.stop()


@pytest.fixture(autouse=True)
def _healthy_sandbox(request: pytest.FixtureRequest) -> None:
    """Each sandbox test starts with no faults and zeroed counters."""
    if "sandbox" in request.fixturenames:
        handle: SandboxHandle = request.getfixturevalue("sandbox")
        handle.set_faults()
        handle.clear_requests()


def sandbox_config(handle: SandboxHandle, provider: str, **overrides: Any) -> ConnectorConfig:
    """A ConnectorConfig for ``provider`` from the sandbox info and its default mapping.

    ``auth`` (a dict) is merged into the sandbox's working auth_config; any other keyword
    replaces that ConnectorConfig field.
    """
    if provider not in handle.info:
        pytest.fail(f"the sandbox serves no {provider!r} (served: {', '.join(handle.info)})")
    info = handle.info[provider]
    auth_model = get_connector_class(provider).auth_model
    auth = auth_model.model_validate({**info["auth_config"], **overrides.pop("auth", {})})
    fields: dict[str, Any] = {
        "provider": provider,
        "base_url": info["base_url"],
        "auth": auth,
        "resources": load_default_mapping(provider).resources(),
        "tenant_id": TENANT_ID,
        "connection_id": CONNECTION_ID,
        "tls": TLSConfig(ca_bundle_pem=info["tls"]["ca_bundle_pem"]),
        "retry": FAST_RETRY,
        "timeout_s": 30.0,
    }
    fields.update(overrides)
    return ConnectorConfig(**fields)


@pytest.fixture
def connector_for(sandbox: SandboxHandle) -> Iterator[Callable[..., Connector]]:
    """``connector_for(provider, **overrides)`` -> a connector to the sandbox (closed after)."""
    made: list[Connector] = []

    def make(provider: str, **overrides: Any) -> Connector:
        connector = build_connector(sandbox_config(sandbox, provider, **overrides))
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()
