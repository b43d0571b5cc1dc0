"""Per-request authentication and sessions: a bearer token's signature is verified once per
process, but what can change is checked on every request (the account, the signing key, the
expiry); the caller is read in the request's read session, and a request holds one database
connection at a time."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import event

from plantsync.api.app import create_app
from plantsync.core.clock import SYSTEM_CLOCK, FrozenClock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from plantsync.core.security import encode_access_token
from tests.conftest import HeadersFactory
from tests.factories import create_user

ME = "/api/v1/account/me"


def _bearer(settings: Settings, user_id: uuid.UUID, tenant_id: uuid.UUID) -> dict[str, str]:
    token, _ = encode_access_token(
        settings, subject_id=user_id, tenant_id=tenant_id, kind="user", clock=SYSTEM_CLOCK
    )
    return {"Authorization": f"Bearer {token}"}


def test_deactivated_account_is_refused_with_a_token_already_used(
    client: TestClient, settings: Settings, db: Database, tenant: Tenant, headers: HeadersFactory
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.operator)
    bearer = _bearer(settings, user.id, tenant.id)
    assert client.get(ME, headers=bearer).status_code == 200
    off = client.patch(
        f"/api/v1/users/{user.id}", json={"is_active": False}, headers=headers(Role.admin)
    )
    assert off.status_code == 200, off.text
    assert client.get(ME, headers=bearer).status_code == 401


def test_token_verified_by_one_hub_is_refused_by_a_hub_with_another_key(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    bearer = _bearer(settings, user.id, tenant.id)
    other = settings.model_copy(
        update={
            "secret_key": SecretStr("another-secret-key-" + uuid.uuid4().hex),
            "encryption_keys": SecretStr(Fernet.generate_key().decode()),
        }
    )
    with TestClient(create_app(settings, database=db)) as ours:
        assert ours.get(ME, headers=bearer).status_code == 200
    with TestClient(create_app(other, database=db)) as theirs:
        refused = theirs.get(ME, headers=bearer)
    assert refused.status_code == 401
    assert "signature" in refused.json()["message"]


def test_token_verified_once_still_expires(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    clock = FrozenClock()
    user = create_user(db, tenant_id=tenant.id, role=Role.viewer)
    token, ttl = encode_access_token(
        settings, subject_id=user.id, tenant_id=tenant.id, kind="user", clock=clock
    )
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, database=db, clock=clock)) as client:
        for _ in range(2):
            assert client.get(ME, headers=bearer).status_code == 200
        clock.advance(ttl)
        expired = client.get(ME, headers=bearer)
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]


class _Connections:
    """Counts the connections an engine's pool hands out, and the most out at once."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.lock = threading.Lock()
        self.handed = self.out = self.peak = 0
        event.listen(self.engine, "checkout", self._checkout)
        event.listen(self.engine, "checkin", self._checkin)

    def _checkout(self, *_: Any) -> None:
        with self.lock:
            self.handed += 1
            self.out += 1
            self.peak = max(self.peak, self.out)

    def _checkin(self, *_: Any) -> None:
        with self.lock:
            self.out -= 1

    def stop(self) -> None:
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "checkin", self._checkin)


def test_authenticated_read_uses_one_connection(
    client: TestClient, headers: HeadersFactory, db: Database
) -> None:
    viewer = headers(Role.viewer)
    connections = _Connections(db)
    try:
        assert client.get("/api/v1/calls", headers=viewer).status_code == 200
    finally:
        connections.stop()
    assert connections.handed == 1  # the caller and the page, in one read session


def test_write_holds_one_connection_at_a_time(
    client: TestClient, headers: HeadersFactory, db: Database
) -> None:
    admin = headers(Role.admin)
    connections = _Connections(db)
    try:
        created = client.post(
            "/api/v1/machines", json={"code": "PRESS-9", "name": "Press"}, headers=admin
        )
    finally:
        connections.stop()
    assert created.status_code == 201, created.text
    assert connections.handed == 2 and connections.peak == 1  # the caller's read, the write
