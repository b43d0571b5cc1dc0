"""``POST /erp/connections/{id}/test`` runs the connector's real diagnostics against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.core.principal import Role
from tests.integration.connections.test_connections_api import BASE

SECRET_KEYS = {"sap": "password", "dynamics": "client_secret", "oracle": "password"}


@pytest.mark.parametrize("provider", ["sap", "dynamics", "oracle"])
def test_diagnostics_succeed_then_name_a_broken_credential(
    client: TestClient, headers: Any, sandbox: Any, provider: str
) -> None:
    admin = headers(Role.admin)
    info = sandbox.info[provider]
    create = {"name": f"{provider} sandbox", "provider": provider, "base_url": info["base_url"],
              "auth_config": info["auth_config"], "sync_interval_minutes": 5,
              "tls": {"ca_bundle_pem": info["tls"]["ca_bundle_pem"]}}  # fmt: skip
    resp = client.post(BASE, json=create, headers=admin)
    assert resp.status_code == 201, resp.text
    url = f"{BASE}/{resp.json()['id']}"
    good = client.post(f"{url}/test", headers=admin)
    assert good.status_code == 200, good.text
    assert good.json()["success"] is True, good.json()
    assert good.json()["latency_ms"] >= 0 and good.json()["message"]
    key = SECRET_KEYS[provider] if SECRET_KEYS[provider] in info["auth_config"] else "client_secret"
    wrong = "definitely-wrong-" + provider
    patched = client.patch(url, json={"auth_config": {key: wrong}}, headers=admin)
    assert patched.status_code == 200, patched.text
    bad = client.post(f"{url}/test", headers=admin)
    assert bad.status_code == 200
    result = bad.json()
    assert result["success"] is False
    assert any(
        w in result["message"].lower() for w in ("credential", "password", "secret", "auth", "401")
    )
    assert wrong not in bad.text and str(info["auth_config"][key]) not in bad.text
    audit = client.get("/api/v1/audit", headers=admin).text
    assert wrong not in audit
