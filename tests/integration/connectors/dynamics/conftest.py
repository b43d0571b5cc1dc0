"""An in-process Dataverse sandbox (no sockets) and connectors bound to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.connectors.base import ConnectorConfig
from plantsync.connectors.dynamics.auth import DynamicsAuthConfig
from plantsync.connectors.dynamics.connector import DynamicsConnector
from plantsync.connectors.http import RetryPolicy
from plantsync.mappings.schema import load_default_mapping
from plantsync.sandbox.dynamics.app import DynamicsSandbox

ORIGIN = "https://sandbox.local"
RECORDS = 57


@pytest.fixture
def dataverse() -> DynamicsSandbox:
    return DynamicsSandbox(records=RECORDS, seed=3)


@pytest.fixture
def make(
    dataverse: DynamicsSandbox,
) -> Iterator[Callable[..., tuple[DynamicsConnector, list[float]]]]:
    """``make(page_size=10, auth={...}, base_url=...)`` -> (connector, recorded sleeps)."""
    made: list[tuple[DynamicsConnector, TestClient]] = []

    def build(
        *, auth: dict[str, Any] | None = None, **fields: Any
    ) -> tuple[DynamicsConnector, list[float]]:
        info = dataverse.info(ORIGIN)
        config = ConnectorConfig(
            **{
                "provider": "dynamics",
                "base_url": info["base_url"],
                "auth": DynamicsAuthConfig.model_validate({**info["auth_config"], **(auth or {})}),
                "resources": load_default_mapping("dynamics").resources(),
                "tenant_id": uuid.UUID(int=11),
                "connection_id": uuid.UUID(int=12),
                "retry": RetryPolicy(max_attempts=4, base_delay_s=0.01),
                "page_size": 10,
                **fields,
            }
        )
        client = TestClient(dataverse.app, base_url=ORIGIN)
        sleeps: list[float] = []
        connector = DynamicsConnector(config, client=client, sleep=sleeps.append)
        made.append((connector, client))
        return connector, sleeps

    yield build
    for connector, client in made:
        connector.close()
        client.close()
