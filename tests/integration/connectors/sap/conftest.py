"""In-process SAP sandbox fixtures: the sandbox's ASGI app behind a sync ``httpx.Client``.

Starlette's TestClient is deprecated with httpx (it warns, and warnings are errors here), so a
small transport runs each request through httpx's own ``ASGITransport`` on a fresh event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from plantsync.connectors.base import ConnectorConfig
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.sap.auth import SapAuthConfig
from plantsync.connectors.sap.connector import SapConnector
from plantsync.mappings.schema import load_default_mapping
from plantsync.sandbox.sap.app import SapSandbox

BASE_URL = "https://sandbox.local"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.01, max_total_s=5)


class SyncASGITransport(httpx.BaseTransport):
    """Runs an ASGI app for a sync ``httpx.Client`` (one event loop per request)."""

    def __init__(self, app: Any) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def run() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._transport.handle_async_request(forwarded)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run(run())


@pytest.fixture
def sap_sandbox() -> SapSandbox:
    return SapSandbox(records=30, seed=3, page_size=7)


@pytest.fixture
def http(sap_sandbox: SapSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(sap_sandbox.app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def make_connector(sap_sandbox: SapSandbox, http: httpx.Client) -> Callable[..., SapConnector]:
    """``make_connector(**overrides)``: a connector to the in-process sandbox."""

    def make(*, auth: dict[str, Any] | None = None, **overrides: Any) -> SapConnector:
        info = sap_sandbox.info(BASE_URL)
        fields: dict[str, Any] = {
            "provider": "sap",
            "base_url": info["base_url"],
            "auth": SapAuthConfig(**{**info["auth_config"], **(auth or {})}),
            "resources": load_default_mapping("sap").resources(),
            "tenant_id": uuid.UUID(int=1),
            "connection_id": uuid.UUID(int=2),
            "retry": FAST_RETRY,
            "page_size": 10,
        }
        fields.update(overrides)
        return SapConnector(ConnectorConfig(**fields), client=http, sleep=lambda _s: None)

    return make
