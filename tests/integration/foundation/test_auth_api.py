"""The auth API end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from tests.factories import DEFAULT_PASSWORD, create_user

LOGIN = "/api/v1/account/login"
REFRESH = "/api/v1/account/refresh-token"
LOGOUT = "/api/v1/account/logout"
ME = "/api/v1/account/me"


def _login(client: TestClient, email: str) -> dict[str, object]:
    resp = client.post(LOGIN, json={"email": email, "password": DEFAULT_PASSWORD})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_login_refresh_call_logout_then_refresh_refused(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.operator, email="Op@Example.com")
    tokens = _login(client, "op@example.com")
    assert tokens["token_type"] == "bearer"
    assert isinstance(tokens["expires_in"], int)
    me = client.get(ME, headers=_bearer(tokens))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(user.id)
    assert me.json()["role"] == "operator"
    assert me.json()["tenant_name"] == tenant.name

    refreshed = client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get(ME, headers=_bearer(new)).status_code == 200

    assert client.post(LOGOUT, json={"refresh_token": new["refresh_token"]}).status_code == 204
    after = client.post(REFRESH, json={"refresh_token": new["refresh_token"]})
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"] == "Bearer"
    assert after.json()["code"] == "not_authenticated"
