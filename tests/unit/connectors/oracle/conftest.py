"""Builders for Oracle connector unit tests (respx mocks the HTTP transport)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from plantsync.connectors.base import ConnectorConfig
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.oracle.auth import OracleAuthConfig
from plantsync.connectors.oracle.connector import OracleConnector
from plantsync.mappings.schema import load_default_mapping

BASE = "https://pod.example.com"
ROOT = f"{BASE}/fscmRestApi/resources/11.13.18.05"
BASIC = {"username": "integ", "password": "pw-basic"}
OAUTH = {
    "token_url": "https://idcs.example.com/oauth2/v1/token",
    "client_id": "cid",
    "client_secret": "oauth-secret",
    "scope": "urn:opc:resource:consumer::all",
}


def make_connector(
    auth: dict[str, Any] | None = None, *, page_size: int = 1000, **retry: Any
) -> tuple[OracleConnector, list[float]]:
    """A connector to ``BASE`` with the default mapping; sleeps are recorded, not slept."""
    config = ConnectorConfig(
        provider="oracle",
        base_url=BASE,
        auth=OracleAuthConfig.model_validate(auth or BASIC),
        resources=load_default_mapping("oracle").resources(),
        tenant_id=uuid.UUID(int=1),
        connection_id=uuid.UUID(int=2),
        retry=RetryPolicy(**{"max_attempts": 4, "base_delay_s": 0.01, **retry}),
        page_size=page_size,
    )
    connector = OracleConnector(config)
    sleeps: list[float] = []
    connector.oracle.sleep = sleeps.append
    return connector, sleeps


@pytest.fixture
def connector() -> Any:
    con, _ = make_connector()
    yield con
    con.close()
