"""Security of every endpoint, walked from the app's own OpenAPI document (so a new route is
covered the day it is added):

- every operation outside the short public list refuses a request without a token, with an
  expired token, with a tampered token, with a token signed by another key and with an
  unsigned (``alg: none``) token: 401;
- the public list is exactly what answers without credentials (a route that forgets its auth
  dependency fails here);
- across tenants: an admin of tenant B sees none of tenant A's rows in any list, and every
  operation on one of A's ids answers 404 (never 2xx, never 5xx);
- secrets (a connection's password, a service account's secret, an API key) appear in no
  answer after the one that created them, in no log line and in no CLI output.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plantsync.core.clock import SYSTEM_CLOCK, FrozenClock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from plantsync.core.security import encode_access_token
from plantsync.core.services.demo import fill_demo
from tests.conftest import CliRunner, HeadersFactory
from tests.factories import create_tenant, create_user

# Answer without credentials by design: probes, the login/refresh/logout flow (they carry
# their own credentials in the body) and the Prometheus scrape endpoint.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/account/login"),
    ("POST", "/api/v1/account/refresh-token"),
    ("POST", "/api/v1/account/logout"),
}
CONNECTION_PASSWORD = "pw-Sup3r-s3cret-" + uuid.uuid4().hex[:8]
# Which list answers the ids a path parameter takes.
LIST_OF_PARAM = {
    "user_id": "/api/v1/users",
    "account_id": "/api/v1/service-accounts",
    "key_id": "/api/v1/api-keys",
    "connection_id": "/api/v1/erp/connections",
    "log_id": "/api/v1/erp/logs",
    "run_id": "/api/v1/production/runs",
    "schedule_id": "/api/v1/shifts",
    "machine_id": "/api/v1/machines",
    "site_id": "/api/v1/sites",
    "work_order_id": "/api/v1/work-orders",
    "part_id": "/api/v1/spare-parts",
    "event_id": "/api/v1/downtime",
    "call_id": "/api/v1/calls",
}
# Operations with a required window get one (so they reach the lookup of the id).
WINDOW = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
PARAM = re.compile(r"\{([^}]+)\}")


def list_for(param: str, path: str) -> str:
    """The list answering ids for ``param`` of ``path``: its own collection where the path is
    ``<collection>/{param}`` (``entry_id`` of failure modes and root causes), else the map."""
    prefix = path.split("/{" + param + "}")[0]
    if param not in LIST_OF_PARAM or prefix.endswith(("-modes", "-causes")):
        return prefix
    return LIST_OF_PARAM[param]


def operations(client: TestClient) -> list[tuple[str, str]]:
    doc = client.get("/openapi.json").json()
    return [(m.upper(), path) for path, ops in doc["paths"].items() for m in ops]


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    url = PARAM.sub(lambda m: str(uuid.uuid4()), path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, headers=headers or {}, json=body)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bad_tokens(settings: Settings, tenant: Tenant, db: Database) -> dict[str, dict[str, str]]:
    user = create_user(db, tenant_id=tenant.id, role=Role.admin)
    past = FrozenClock(SYSTEM_CLOCK.now() - timedelta(days=1))
    expired, _ = encode_access_token(
        settings, subject_id=user.id, tenant_id=tenant.id, kind="user", clock=past
    )
    good, _ = encode_access_token(
        settings, subject_id=user.id, tenant_id=tenant.id, kind="user", clock=SYSTEM_CLOCK
    )
    head, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tid"] = str(uuid.uuid4())  # claim another tenant, keep the old signature
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    now = int(SYSTEM_CLOCK.now().timestamp())
    real_claims = {**claims, "tid": str(tenant.id), "iat": now, "exp": now + 600}
    return {
        "none": {},
        "garbage": _bearer("not-a-token"),
        "expired": _bearer(expired),
        "tampered": _bearer(f"{head}.{forged}.{signature}"),
        "other key": _bearer(jwt.encode(real_claims, "another-key-" + "x" * 32, "HS256")),
        "unsigned": _bearer(jwt.encode(real_claims, None, algorithm="none")),
        "bad api key": {"X-API-Key": "psk_" + uuid.uuid4().hex},
    }


def test_every_endpoint_refuses_missing_expired_and_tampered_tokens(
    client: TestClient, settings: Settings, db: Database, tenant: Tenant
) -> None:
    tokens = bad_tokens(settings, tenant, db)
    ops = operations(client)
    assert len(ops) > 60
    answered_anonymously = set()
    problems = []
    for method, path in ops:
        for name, headers in tokens.items():
            resp = call(client, method, path, headers)
            if (method, path) in PUBLIC:
                if name == "none" and resp.status_code != 401:
                    answered_anonymously.add((method, path))
                continue
            if resp.status_code != 401:
                problems.append(f"{method} {path} with {name} token: {resp.status_code}")
            elif "WWW-Authenticate" not in resp.headers:
                problems.append(f"{method} {path} with {name} token: 401 without WWW-Authenticate")
    assert not problems, "\n".join(problems)
    # Public operations really are public; everything else was refused above.
    assert answered_anonymously == {op for op in PUBLIC if op in set(ops)}


# -- tenants -----------------------------------------------------------------------------------


def _fill_tenant(
    client: TestClient, db: Database, tenant: Tenant, admin: dict[str, str]
) -> dict[str, str]:
    """Demo plant, a connection with a password, a sync log, a service account and an API key,
    an andon call. Returns the secrets handed out once."""
    with db.write_session() as session:
        fill_demo(session=session, tenant_id=tenant.id)
    conn = client.post(
        "/api/v1/erp/connections",
        headers=admin,
        json={
            "name": "SAP Production",
            "provider": "sap",
            "base_url": "https://127.0.0.1:1",
            "auth_config": {"username": "plantsync", "password": CONNECTION_PASSWORD},
            "sync_interval_minutes": 60,
        },
    )
    assert conn.status_code == 201, conn.text
    sync = client.post(
        f"/api/v1/erp/connections/{conn.json()['id']}/sync",
        headers=admin,
        json={"direction": "inbound", "entity_type": "machine"},
    )
    assert sync.status_code in (200, 202), sync.text
    account = client.post("/api/v1/service-accounts", headers=admin, json={"name": "mes"})
    assert account.status_code == 201, account.text
    key = client.post(
        "/api/v1/api-keys",
        headers=admin,
        json={"service_account_id": account.json()["id"], "name": "line-1 andon"},
    )
    assert key.status_code == 201, key.text
    machine = client.get("/api/v1/machines", headers=admin).json()["items"][0]
    andon = client.post(
        "/api/v1/calls", headers=admin, json={"machine_id": machine["id"], "call_type": "QA"}
    )
    assert andon.status_code == 201, andon.text
    return {
        "connection password": CONNECTION_PASSWORD,
        "service account secret": account.json()["client_secret"],
        "api key": key.json()["key"],
    }


def _list_ids(client: TestClient, headers: dict[str, str], path: str) -> set[str]:
    resp = client.get(path, headers=headers, params={"limit": 500})
    assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
    data = resp.json()
    items = data["items"] if isinstance(data, dict) and "items" in data else data
    return {str(item["id"]) for item in items if isinstance(item, dict) and "id" in item}


def _list_paths(ops: list[tuple[str, str]]) -> list[str]:
    return [p for m, p in ops if m == "GET" and "{" not in p and (m, p) not in PUBLIC]


def test_tenants_see_and_touch_nothing_of_each_other(
    client: TestClient, db: Database, tenant: Tenant, headers: HeadersFactory
) -> None:
    admin_a = headers(Role.admin)
    _fill_tenant(client, db, tenant, admin_a)
    other = create_tenant(db)
    admin_b = headers(Role.admin, tenant_id=other.id)
    ops = operations(client)
    lists = {list_for(n, p) for _, p in ops for n in PARAM.findall(p)}
    ids_a = {path: _list_ids(client, admin_a, path) for path in lists}
    assert all(ids_a.values()), {p: len(v) for p, v in ids_a.items()}
    every_id_a = set().union(*ids_a.values())
    leaks = []
    for path in _list_paths(ops):
        resp = client.get(path, headers=admin_b)
        if resp.status_code == 200 and any(i in resp.text for i in every_id_a):
            leaks.append(f"GET {path} shows tenant A's rows to tenant B")
    for method, path in ops:
        params = PARAM.findall(path)
        if not params or (method, path) in PUBLIC:
            continue
        url = path
        for name in params:
            url = url.replace("{" + name + "}", sorted(ids_a[list_for(name, path)])[0])
        body = {} if method in ("POST", "PUT", "PATCH") else None
        query = WINDOW if method == "GET" else None
        resp = client.request(method, url, headers=admin_b, json=body, params=query)
        if method == "GET" and resp.status_code == 200:
            # A filter by an id that is not B's (logs of a connection) may answer an empty
            # list: acceptable as long as nothing of A's is in it.
            if any(i in resp.text for i in every_id_a):
                leaks.append(f"GET {url} as tenant B shows tenant A's rows: {resp.text[:200]}")
            continue
        allowed = {404} if method == "GET" else {400, 404, 409, 422}
        if resp.status_code not in allowed:
            leaks.append(f"{method} {url} as tenant B: {resp.status_code} {resp.text[:200]}")
    assert not leaks, "\n".join(leaks)
    # Tenant A's rows are all still there (nothing was changed or deleted through B).
    for path, ids in ids_a.items():
        assert ids <= _list_ids(client, admin_a, path), path


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_appear_in_no_answer_log_line_or_cli_output(
    client: TestClient,
    db: Database,
    tenant: Tenant,
    headers: HeadersFactory,
    cli: CliRunner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = headers(Role.admin)
    secrets = _fill_tenant(client, db, tenant, admin)
    ops = operations(client)
    conn_id = sorted(_list_ids(client, admin, "/api/v1/erp/connections"))[0]
    seen: list[str] = []
    # The connection test fails (nothing listens on port 1) and logs its diagnosis.
    tested = client.post(f"/api/v1/erp/connections/{conn_id}/test", headers=admin)
    seen.append(tested.text)
    for path in _list_paths(ops):
        seen.append(client.get(path, headers=admin).text)
    for method, path in ops:
        if method == "GET" and PARAM.findall(path) and (method, path) not in PUBLIC:
            url = path
            for name in PARAM.findall(path):
                ids = _list_ids(client, admin, list_for(name, path))
                url = url.replace("{" + name + "}", sorted(ids)[0])
            seen.append(client.get(url, headers=admin, params=WINDOW).text)
    seen.append(client.get("/metrics").text)
    for args in (
        ("connections", "list", "--json"),
        ("connections", "list"),
        ("connections", "show", conn_id, "--json"),
        ("connections", "show", conn_id),
        ("connections", "test", conn_id),
        ("logs", "--json"),
        ("config", "show"),
    ):
        result = cli(*args, "--tenant", tenant.name) if args[0] != "config" else cli(*args)
        assert result.exit_code in (0, 1), (args, result.stderr)
        seen += [result.stdout, result.stderr]
    seen.append(caplog.text)
    for name, secret in secrets.items():
        hits = [text[:300] for text in seen if secret in text]
        assert not hits, f"the {name} leaked: {hits}"
