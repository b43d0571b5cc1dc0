"""``/api/v1/erp/connections``: every rule of a connection, roles, tenants, secrecy (both DBs)."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient

from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.integration import Connection, ExternalLink
from plantsync.core.principal import Role
from plantsync.core.security import encrypted_columns
from tests.factories import create_tenant

BASE = "/api/v1/erp/connections"
SECRET = "secure_password"
EXAMPLE: dict[str, Any] = {
    "name": "SAP Production",
    "provider": "sap",
    "base_url": "https://sap.yourcompany.com",
    "auth_config": {"username": "plantsync_integration", "password": SECRET},
    "sync_interval_minutes": 60,
    "is_active": True,
    "field_mappings": {"work_order_id": "AUFNR", "machine_id": "EQUNR"},
}
DYNAMICS_AUTH = {
    "tenant_id": "11111111-2222-3333-4444-555555555555",
    "client_id": "app-id",
    "client_secret": "dyn-very-secret",
}


def body(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return data


@pytest.fixture
def admin(headers: Any) -> dict[str, str]:
    return dict(headers(Role.admin))


def test_the_exact_example_is_accepted_and_secrets_never_shown(
    client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resp = client.post(BASE, json=EXAMPLE, headers=admin)
    assert resp.status_code == 201, resp.text
    data = resp.json()
    assert data["name"] == "SAP Production"
    assert data["auth_config_keys"] == ["password", "username"]
    assert "auth_config" not in data
    assert data["field_mappings"] == EXAMPLE["field_mappings"]
    assert data["tls"] == {"ca_bundle_pem": None, "verify": True}
    assert data["tls_verify_disabled"] is False
    assert {(e["direction"], e["entity_type"]) for e in data["sync_entities"]} == {
        ("outbound", "work_order"),
        ("outbound", "production_data"),
        ("outbound", "downtime"),
        ("inbound", "machine"),
        ("inbound", "work_order"),
    }
    assert len(data["schedule"]) == 5
    assert all(s["last_status"] is None and s["next_sync_at"] for s in data["schedule"])
    texts = [resp.text, client.get(BASE, headers=admin).text]
    texts.append(client.get(f"{BASE}/{data['id']}", headers=admin).text)
    texts.append(client.get("/api/v1/audit", headers=admin).text)
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text


def test_auth_config_is_fernet_under_the_hub_key_only(
    client: TestClient, admin: dict[str, str], db: Database, settings: Settings
) -> None:
    conn_id = client.post(BASE, json=EXAMPLE, headers=admin).json()["id"]
    with db.engine.connect() as c:
        raw = c.execute(
            sa.text("SELECT auth_config_encrypted FROM connection WHERE id = :id"),
            {"id": uuid.UUID(conn_id).hex if db.is_sqlite else conn_id},
        ).scalar_one()
    assert SECRET not in raw
    assert settings.encryption_keys is not None
    hub = Fernet(settings.encryption_keys.get_secret_value().split(",")[0])
    assert json.loads(hub.decrypt(raw.encode()))["password"] == SECRET
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(raw.encode())
    assert any(c.model is Connection for c in encrypted_columns())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"provider": "navision"}, "provider"),
        ({"sync_interval_minutes": 4}, "sync_interval_minutes"),
        ({"sync_interval_minutes": 1441}, "sync_interval_minutes"),
        ({"base_url": "sap.yourcompany.com"}, "base_url"),
        ({"base_url": "ftp://sap.yourcompany.com"}, "base_url"),
        ({"auth_config": {"username": "u"}}, "auth_config.password"),
        ({"auth_config": {"username": "u", "password": "p", "pin": "1"}}, "auth_config.pin"),
        ({"field_mappings": {"work_order_nr": "AUFNR"}}, "field_mappings.work_order_nr"),
        ({"field_mappings": {"machine.priority": "X"}}, "field_mappings.machine.priority"),
        ({"field_mappings": {"machine_id": ""}}, "field_mappings.machine_id"),
        ({"tls": {"ca_bundle_pem": "not a certificate"}}, "tls"),
        (
            {"sync_entities": [{"direction": "inbound", "entity_type": "downtime"}]},
            "sync_entities.0",
        ),
        ({"outbound_start_from": "2026-01-01T00:00:00"}, "outbound_start_from"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    client: TestClient, admin: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    resp = client.post(BASE, json=body(**changes), headers=admin)
    assert resp.status_code == 422, resp.text
    errors = resp.json()["errors"]
    assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert SECRET not in resp.text


def test_unknown_mapping_key_lists_the_valid_ones(
    client: TestClient, admin: dict[str, str]
) -> None:
    resp = client.post(BASE, json=body(field_mappings={"wo": "AUFNR"}), headers=admin)
    assert resp.status_code == 422
    assert "work_order.@resource" in resp.json()["message"]
    ok = body(field_mappings={"work_order.@resource": "ZPM_ORDERS_SRV/Orders", "name": "KTEXT"})
    assert client.post(BASE, json=ok, headers=admin).status_code == 201


def test_each_provider_and_oracle_oauth(client: TestClient, admin: dict[str, str]) -> None:
    dyn = body(name="D365", provider="dynamics", auth_config=DYNAMICS_AUTH)
    assert client.post(BASE, json=dyn, headers=admin).status_code == 201
    oauth = {"token_url": "https://idcs.example.com/oauth2/v1/token", "client_id": "c",
             "client_secret": "s3cr3t", "scope": "urn:opc:resource:all"}  # fmt: skip
    ora = body(name="Oracle", provider="oracle", auth_config=oauth)
    resp = client.post(BASE, json=ora, headers=admin)
    assert resp.status_code == 201, resp.text
    assert resp.json()["auth_config_keys"] == sorted(oauth)
    bad = body(name="Oracle2", provider="oracle", auth_config={"client_id": "c"})
    assert client.post(BASE, json=bad, headers=admin).status_code == 422


def test_name_unique_per_tenant_limit_and_archive_frees(
    client: TestClient, admin: dict[str, str], db: Database, headers: Any
) -> None:
    first = client.post(BASE, json=body(), headers=admin).json()
    dup = client.post(BASE, json=body(), headers=admin)
    assert dup.status_code == 409 and "name" in dup.json()["errors"]
    other = create_tenant(db)
    other_admin = headers(Role.admin, other.id)
    assert client.post(BASE, json=body(), headers=other_admin).status_code == 201
    for i in range(9):
        assert client.post(BASE, json=body(name=f"c{i}"), headers=admin).status_code == 201
    over = client.post(BASE, json=body(name="eleventh"), headers=admin)
    assert over.status_code == 409 and "10" in over.json()["message"]
    assert client.delete(f"{BASE}/{first['id']}", headers=admin).status_code == 204
    listed = client.get(BASE, headers=admin).json()["items"]
    assert first["id"] not in [c["id"] for c in listed] and len(listed) == 9
    assert client.get(f"{BASE}/{first['id']}", headers=admin).status_code == 404
    again = client.post(BASE, json=body(), headers=admin)
    assert again.status_code == 201, again.text


def test_patch_rules(
    client: TestClient, admin: dict[str, str], db: Database, tenant: Tenant
) -> None:
    conn = client.post(BASE, json=body(), headers=admin).json()
    url = f"{BASE}/{conn['id']}"
    resp = client.patch(url, json={"provider": "oracle"}, headers=admin)
    assert resp.status_code == 422 and "provider" in resp.json()["errors"]
    resp = client.patch(url, json={"auth_config": {"sap_client": "100"}}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["auth_config_keys"] == ["password", "sap_client", "username"]
    resp = client.patch(url, json={"auth_config": {"password": "new-password"}}, headers=admin)
    assert resp.status_code == 200 and "new-password" not in resp.text
    resp = client.patch(
        url, json={"tls": {"verify": False}, "sync_interval_minutes": 15}, headers=admin
    )
    data = resp.json()
    assert data["tls_verify_disabled"] is True and data["warnings"]
    assert data["sync_interval_minutes"] == 15
    assert client.get(BASE, headers=admin).json()["items"][0]["tls_verify_disabled"] is True
    # base_url with links needs reset_links
    with db.write_session() as s:
        s.add(ExternalLink(tenant_id=tenant.id, connection_id=uuid.UUID(conn["id"]),
                           entity_type="work_order", local_id=uuid.uuid4(), erp_key="4711"))  # fmt: skip
    moved = {"base_url": "https://sap-new.yourcompany.com"}
    resp = client.patch(url, json=moved, headers=admin)
    assert resp.status_code == 409 and "base_url" in resp.json()["errors"]
    resp = client.patch(url, json={**moved, "reset_links": True}, headers=admin)
    assert resp.status_code == 200 and resp.json()["base_url"] == moved["base_url"]
    with db.read_session() as s:
        assert s.exec(sa.select(ExternalLink)).first() is None  # type: ignore[call-overload]


def test_roles_and_tenant_isolation(
    client: TestClient, admin: dict[str, str], headers: Any, db: Database
) -> None:
    conn = client.post(BASE, json=body(), headers=admin).json()
    url = f"{BASE}/{conn['id']}"
    for role in (Role.viewer, Role.operator):
        h = headers(role)
        assert client.get(BASE, headers=h).status_code == 200
        assert client.get(url, headers=h).status_code == 200
        assert client.post(BASE, json=body(name="x"), headers=h).status_code == 403
        assert client.patch(url, json={"is_active": False}, headers=h).status_code == 403
        assert client.delete(url, headers=h).status_code == 403
        assert client.post(f"{url}/test", headers=h).status_code == 403
    assert client.get(BASE).status_code == 401
    stranger = headers(Role.admin, create_tenant(db).id)
    assert client.get(BASE, headers=stranger).json()["items"] == []
    assert client.get(url, headers=stranger).status_code == 404
    assert client.patch(url, json={"is_active": False}, headers=stranger).status_code == 404
    assert client.delete(url, headers=stranger).status_code == 404


def test_outbound_start_from_defaults_to_creation(
    client: TestClient, admin: dict[str, str]
) -> None:
    data = client.post(BASE, json=body(), headers=admin).json()
    assert data["outbound_start_from"] == data["created_at"]
    back = body(name="backfill", outbound_start_from="2025-01-01T00:00:00Z")
    assert (
        client.post(BASE, json=back, headers=admin)
        .json()["outbound_start_from"]
        .startswith("2025-01-01T00:00:00")
    )
