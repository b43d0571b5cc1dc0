"""Users, service accounts, API keys and the audit log over HTTP; role rules; secrets hidden."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from tests.factories import DEFAULT_PASSWORD, create_service_account, create_tenant

USERS = "/api/v1/users"
ME = "/api/v1/account/me"


def test_viewer_and_operator_are_refused_admin_endpoints(client: TestClient, headers: Any) -> None:
    for role in (Role.viewer, Role.operator):
        resp = client.get(USERS, headers=headers(role))
        assert resp.status_code == 403
        assert resp.json()["code"] == "permission_denied"
        assert client.get(ME, headers=headers(role)).status_code == 200
    assert client.get(USERS, headers=headers(Role.admin)).status_code == 200


def test_admin_manages_users_and_every_change_is_audited(client: TestClient, headers: Any) -> None:
    admin = headers(Role.admin)
    password = "a-very-secret-password"
    created = client.post(USERS, json={"email": "New@Plant.io", "password": password, "role": "operator"}, headers=admin)  # fmt: skip
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "new@plant.io"
    assert "password" not in created.text and "hash" not in created.text
    dup = client.post(USERS, json={"email": "new@plant.io", "password": password}, headers=admin)
    assert dup.status_code == 409
    patched = client.patch(f"{USERS}/{user['id']}", json={"role": "viewer"}, headers=admin)
    assert patched.status_code == 200 and patched.json()["role"] == "viewer"
    deleted = client.delete(f"{USERS}/{user['id']}", headers=admin)
    assert deleted.status_code == 204
    assert deleted.content == b"" and "content-type" not in deleted.headers  # 204: no body
    assert client.get(f"{USERS}/{user['id']}", headers=admin).status_code == 404

    audit = client.get("/api/v1/audit", headers=admin)
    assert audit.status_code == 200
    actions = [e["action"] for e in audit.json()["items"] if e["target_id"] == user["id"]]
    assert actions == ["user.delete", "user.update", "user.create"]
    assert password not in audit.text
    assert client.get("/api/v1/audit", headers=headers(Role.operator)).status_code == 403


def test_user_list_pages_with_a_cursor(client: TestClient, headers: Any) -> None:
    admin = headers(Role.admin)
    for n in range(4):
        headers(Role.viewer)  # creates a user
        del n
    first = client.get(USERS, params={"limit": 2}, headers=admin).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [u["id"] for u in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(USERS, params={"limit": 2, "cursor": cursor}, headers=admin).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    bad = client.get(USERS, params={"cursor": "garbage!"}, headers=admin)
    assert bad.status_code == 422 and "cursor" in bad.json()["errors"]


def test_last_admin_cannot_be_demoted_or_deleted(client: TestClient, headers: Any) -> None:
    admin = headers(Role.admin)
    me = client.get(ME, headers=admin).json()
    resp = client.patch(f"{USERS}/{me['id']}", json={"role": "viewer"}, headers=admin)
    assert resp.status_code == 409
    assert client.delete(f"{USERS}/{me['id']}", headers=admin).status_code == 409


def test_tenants_are_isolated(client: TestClient, db: Database, headers: Any) -> None:
    other = create_tenant(db)
    foreign_admin = headers(Role.admin, other.id)
    mine = client.get(ME, headers=headers(Role.viewer)).json()
    assert client.get(f"{USERS}/{mine['id']}", headers=foreign_admin).status_code == 404
    listed = client.get(USERS, headers=foreign_admin).json()["items"]
    assert all(u["tenant_id"] == str(other.id) for u in listed)


def test_service_account_logs_in_with_client_credentials(client: TestClient, headers: Any) -> None:
    admin = headers(Role.admin)
    created = client.post("/api/v1/service-accounts", json={"name": "mes", "role": "operator"}, headers=admin)  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    listed = client.get("/api/v1/service-accounts", headers=admin)
    assert body["client_secret"] not in listed.text
    tokens = client.post("/api/v1/account/login", json={"client_id": body["client_id"], "client_secret": body["client_secret"]})  # fmt: skip
    assert tokens.status_code == 200, tokens.text
    me = client.get(ME, headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
    assert me.json()["kind"] == "service_account" and me.json()["role"] == "operator"
    audit = client.get("/api/v1/audit", headers=admin)
    assert body["client_secret"] not in audit.text


def _api_key(client: TestClient, admin: dict[str, str], account_id: uuid.UUID, role: str, **extra: Any) -> dict[str, Any]:  # fmt: skip
    resp = client.post("/api/v1/api-keys", json={"service_account_id": str(account_id), "name": f"key-{role}", "role": role, **extra}, headers=admin)  # fmt: skip
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def test_api_key_works_only_where_its_role_allows(
    client: TestClient, db: Database, tenant: Tenant, headers: Any
) -> None:
    admin = headers(Role.admin)
    account = create_service_account(db, tenant_id=tenant.id, role=Role.admin)
    viewer_key = _api_key(client, admin, account.id, "viewer")
    admin_key = _api_key(client, admin, account.id, "admin")
    as_viewer = {"X-API-Key": viewer_key["key"]}
    me = client.get(ME, headers=as_viewer)
    assert (
        me.status_code == 200 and me.json()["kind"] == "api_key" and me.json()["role"] == "viewer"
    )
    assert client.get(USERS, headers=as_viewer).status_code == 403
    assert client.get(USERS, headers={"X-API-Key": admin_key["key"]}).status_code == 200
    listed = client.get("/api/v1/api-keys", headers=admin)
    assert viewer_key["key"] not in listed.text and admin_key["key"] not in client.get("/api/v1/audit", headers=admin).text  # fmt: skip
    revoked = client.delete(f"/api/v1/api-keys/{viewer_key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get(ME, headers=as_viewer).status_code == 401


def test_api_key_role_is_capped_by_its_account_and_machines_are_kept(
    client: TestClient, db: Database, tenant: Tenant, headers: Any
) -> None:
    admin = headers(Role.admin)
    account = create_service_account(db, tenant_id=tenant.id, role=Role.operator)
    too_strong = client.post("/api/v1/api-keys", json={"service_account_id": str(account.id), "name": "x", "role": "admin"}, headers=admin)  # fmt: skip
    assert too_strong.status_code == 422 and "role" in too_strong.json()["errors"]
    machine = uuid.uuid4()
    key = _api_key(client, admin, account.id, "operator", machine_ids=[str(machine)])
    me = client.get(ME, headers={"X-API-Key": key["key"]}).json()
    assert me["machine_ids"] == [str(machine)]


def test_service_account_login_with_a_wrong_secret_fails(client: TestClient, db: Database, tenant: Tenant) -> None:  # fmt: skip
    account = create_service_account(db, tenant_id=tenant.id)
    resp = client.post("/api/v1/account/login", json={"client_id": account.client_id, "client_secret": DEFAULT_PASSWORD + "x"})  # fmt: skip
    assert resp.status_code == 401
