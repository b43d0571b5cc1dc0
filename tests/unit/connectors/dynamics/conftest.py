"""Builders for Dynamics 365 connector unit tests (respx mocks the HTTP transport)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from plantsync.connectors.base import ConnectorConfig, Resource
from plantsync.connectors.dynamics.auth import DynamicsAuthConfig
from plantsync.connectors.dynamics.connector import DynamicsConnector
from plantsync.connectors.http import RetryPolicy
from plantsync.mappings.schema import load_default_mapping

BASE = "https://contoso.crm4.dynamics.com"
ROOT = f"{BASE}/api/data/v9.2/"
TENANT = "0d3b5c2a-1111-4222-8333-444455556666"
LOGIN = f"https://login.microsoftonline.com/{TENANT}"
SECRET = "very-secret-value-123"
AUTH = {"tenant_id": TENANT, "client_id": "app-1", "client_secret": SECRET}
TENANT_UUID = uuid.UUID(int=1)


def openid(base: str) -> dict[str, Any]:
    return {
        "issuer": f"{base}/v2.0",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
    }


def mock_login(
    router: respx.Router, *, base: str = LOGIN, expires_in: int = 3599, token: str = "tok-1"
) -> respx.Route:
    """Discovery and token endpoints of an authority; returns the token route.

    For Microsoft's authority msal also asks for the cloud's host aliases after a failure.
    """
    router.get(url__startswith="https://login.microsoftonline.com/common/discovery/").respond(
        json={
            "metadata": [
                {
                    "preferred_network": "login.microsoftonline.com",
                    "aliases": ["login.microsoftonline.com"],
                }
            ]
        }
    )
    router.get(f"{base}/v2.0/.well-known/openid-configuration").respond(json=openid(base))
    return router.post(f"{base}/oauth2/v2.0/token").respond(
        json={"token_type": "Bearer", "expires_in": expires_in, "access_token": token}
    )


def make_connector(
    *,
    auth: dict[str, Any] | None = None,
    page_size: int = 1000,
    resources: dict[Any, Any] | None = None,
) -> tuple[DynamicsConnector, list[float]]:
    """A connector to ``BASE`` with the default mapping; sleeps are recorded, not slept."""
    config = ConnectorConfig(
        provider="dynamics",
        base_url=BASE,
        auth=DynamicsAuthConfig.model_validate(auth or AUTH),
        resources=resources or load_default_mapping("dynamics").resources(),
        tenant_id=TENANT_UUID,
        connection_id=uuid.UUID(int=2),
        retry=RetryPolicy(max_attempts=4, base_delay_s=0.01),
        page_size=page_size,
    )
    sleeps: list[float] = []
    return DynamicsConnector(config, sleep=sleeps.append), sleeps


def with_options(entity: Any, direction: Any, **changes: Any) -> dict[Any, Any]:
    """The default resources with one resource changed (``options`` merged)."""
    resources = {e: dict(d) for e, d in load_default_mapping("dynamics").resources().items()}
    old: Resource = resources[entity][direction]
    options = {**old.options, **changes.pop("options", {})}
    resources[entity][direction] = Resource(**{**old.__dict__, **changes, "options": options})
    return resources


@pytest.fixture
def router() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=False) as r:
        yield r


@pytest.fixture
def connector(router: respx.Router) -> Iterator[DynamicsConnector]:
    mock_login(router)
    con, _ = make_connector()
    yield con
    con.close()
