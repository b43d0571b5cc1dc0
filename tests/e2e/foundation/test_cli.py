"""The CLI on the database directly: tenants, users, service accounts, API keys, keys, db."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.core.db import Database
from plantsync.core.principal import Role
from tests.factories import create_tenant

PASSWORD = "walkthrough-password"


def test_walkthrough_user_created_with_the_cli_logs_in(cli: Any, db: Database, client: TestClient) -> None:  # fmt: skip
    created = cli("tenants", "create", "acme")
    assert created.exit_code == 0, created.stderr
    user = cli("users", "create", "--email", "Ada@Acme.io", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert user.exit_code == 0, user.stderr
    assert PASSWORD not in user.stdout + user.stderr
    listed = cli("users", "list", "--json")
    assert [u["email"] for u in json.loads(listed.stdout)] == ["ada@acme.io"]
    tokens = client.post("/api/v1/account/login", json={"email": "ada@acme.io", "password": PASSWORD})  # fmt: skip
    assert tokens.status_code == 200
    audit = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})  # fmt: skip
    assert audit.json()["items"][0]["actor_kind"] == "system"


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # no terminal under pytest
def test_password_from_the_prompt(cli: Any, db: Database) -> None:
    create_tenant(db, "acme")
    result = cli("users", "create", "--email", "p@acme.io", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.stdout


def test_bad_input_exits_non_zero_with_a_message(cli: Any, db: Database) -> None:
    assert cli("users", "list").exit_code == 2  # no tenant yet
    create_tenant(db, "one")
    create_tenant(db, "two")
    several = cli("users", "list")
    assert several.exit_code == 2 and "--tenant" in several.stderr
    assert cli("users", "list", "--tenant", "nope").exit_code == 2
    short = cli("users", "create", "--tenant", "one", "--email", "a@b.io", "--password-stdin", input="short\n")  # fmt: skip
    assert short.exit_code == 2 and "password" in short.stderr and "short" not in short.stderr
    assert cli("users", "create", "--tenant", "one", "--email", "a@b.io", "--role", "boss").exit_code == 2  # fmt: skip
    assert cli("tenants", "create", "one").exit_code == 2  # exists
    assert cli("api-keys", "revoke", "not-an-id", "--tenant", "one").exit_code == 2
    assert cli("service-accounts", "create", "", "--tenant", "one").exit_code == 2


def test_service_account_and_api_key_secrets_are_printed_once(cli: Any, db: Database, client: TestClient) -> None:  # fmt: skip
    create_tenant(db, "acme")
    created = cli("service-accounts", "create", "gateway", "--role", "operator")
    assert created.exit_code == 0, created.stderr
    secret = created.stdout.split("client_secret:")[1].split()[0]
    listed = cli("service-accounts", "list")
    assert secret not in listed.stdout
    key = cli("api-keys", "create", "--service-account", "gateway", "--name", "andon-3", "--role", "viewer")  # fmt: skip
    assert key.exit_code == 0, key.stderr
    api_key = key.stdout.strip()
    assert client.get("/api/v1/account/me", headers={"X-API-Key": api_key}).json()["role"] == Role.viewer  # fmt: skip
    keys = json.loads(cli("api-keys", "list", "--json").stdout)
    assert api_key not in json.dumps(keys)
    assert cli("api-keys", "create", "-s", "gateway", "-n", "too-strong", "--role", "admin").exit_code == 2  # fmt: skip
    revoked = cli("api-keys", "revoke", keys[0]["id"])
    assert revoked.exit_code == 0
    assert client.get("/api/v1/account/me", headers={"X-API-Key": api_key}).status_code == 401


def test_db_current_and_keys_generate(cli: Any, db: Database) -> None:
    assert cli("db", "current").exit_code == 0
    generated = cli("keys", "generate")
    assert generated.exit_code == 0
    assert (
        "PLANTSYNC_SECRET_KEY=" in generated.stdout
        and "PLANTSYNC_ENCRYPTION_KEYS=" in generated.stdout
    )
    rotated = cli("keys", "rotate", "--no-new-key")
    assert rotated.exit_code == 0, rotated.stderr
