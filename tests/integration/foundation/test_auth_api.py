"""The auth API end to end over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from fastapi.testclient import TestClient

from plantsync.api.app import create_app
from plantsync.core.clock import FrozenClock
from plantsync.core.config import Settings
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

    logout = client.post(LOGOUT, json={"refresh_token": new["refresh_token"]})
    assert logout.status_code == 204
    assert logout.content == b"" and "content-type" not in logout.headers  # 204: no body
    after = client.post(REFRESH, json={"refresh_token": new["refresh_token"]})
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"] == "Bearer"
    assert after.json()["code"] == "not_authenticated"


def test_refresh_token_reuse_revokes_the_family(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    first = _login(client, user.email)
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    # The first token is presented again: it leaked, so the whole login is revoked...
    reused = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["message"]
    # ...including the token that was legitimately issued after it.
    assert client.post(REFRESH, json={"refresh_token": second["refresh_token"]}).status_code == 401
    # Another login of the same user is a different family and keeps working.
    other = _login(client, user.email)
    assert client.post(REFRESH, json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_wrong_password_and_unknown_email_answer_the_same(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    wrong = client.post(LOGIN, json={"email": user.email, "password": "not-the-password"})
    unknown = client.post(LOGIN, json={"email": "nobody@example.com", "password": "whatever-123"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "not-the-password" not in wrong.text


def test_inactive_user_cannot_log_in_or_use_tokens(
    client: TestClient, db: Database, tenant: Tenant, headers: Any
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.operator)
    tokens = _login(client, user.email)
    admin = headers(Role.admin)
    resp = client.patch(f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert client.get(ME, headers=_bearer(tokens)).status_code == 401
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    login = client.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 401


def test_missing_malformed_and_foreign_tokens_get_401(client: TestClient) -> None:
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                   {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Bearer " + "x" * 5000},
                   {"X-API-Key": "psk_unknown"}):  # fmt: skip
        resp = client.get(ME, headers=header)
        assert resp.status_code == 401, header
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert resp.json()["code"] == "not_authenticated"
    forged = jwt.encode(
        {"sub": str(uuid.uuid4()), "tid": str(uuid.uuid4()), "knd": "user", "typ": "access",
         "exp": 4102444800}, "some-other-key-entirely-" + "k" * 32, algorithm="HS256",
    )  # fmt: skip
    assert client.get(ME, headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_access_token_expires_on_the_injected_clock(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    clock = FrozenClock()
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    with TestClient(create_app(settings, database=db, clock=clock)) as client:
        tokens = _login(client, user.email)
        assert client.get(ME, headers=_bearer(tokens)).status_code == 200
        clock.advance(settings.access_token_ttl_seconds - 1)
        assert client.get(ME, headers=_bearer(tokens)).status_code == 200
        clock.advance(2)
        expired = client.get(ME, headers=_bearer(tokens))
        assert expired.status_code == 401
        assert "expired" in expired.json()["message"]
        # The refresh token outlives the access token.
        assert (
            client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 200
        )
        clock.advance(settings.refresh_token_ttl_seconds + 1)
        assert (
            client.post(LOGIN, json={"email": user.email, "password": "x" * 12}).status_code == 401
        )


def test_failed_logins_are_rate_limited_per_account_and_per_address(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    clock = FrozenClock()
    limited = settings.model_copy(
        update={"login_max_failures": 3, "login_max_failures_per_address": 5}
    )
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    with TestClient(create_app(limited, database=db, clock=clock)) as client:
        for _ in range(3):
            bad = client.post(LOGIN, json={"email": user.email, "password": "wrong-password"})
            assert bad.status_code == 401
        blocked = client.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "rate_limited"
        assert 1 <= int(blocked.headers["Retry-After"]) <= settings.login_failure_window_seconds
        # Other accounts from the same address: two more failures reach the address limit.
        for n in range(2):
            client.post(LOGIN, json={"email": f"other{n}@example.com", "password": "wrong-pass"})
        other = create_user(db, tenant_id=tenant.id, role=Role.viewer)
        address_blocked = client.post(
            LOGIN, json={"email": other.email, "password": DEFAULT_PASSWORD}
        )
        assert address_blocked.status_code == 429
        clock.advance(settings.login_failure_window_seconds + 1)
        assert _login(client, user.email)["token_type"] == "bearer"
