"""No input gets a 500: bad JSON 400, bad fields 422 naming them, huge bodies 413, bad UTF-8."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plantsync.api.app import create_app
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Role

LOGIN = "/api/v1/account/login"


def test_invalid_json_answers_400(client: TestClient) -> None:
    resp = client.post(LOGIN, content=b'{"email": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json() == {"code": "invalid_json", "message": "The request body is not valid JSON", "errors": {}}  # fmt: skip


def test_bad_utf8_never_answers_500(client: TestClient) -> None:
    resp = client.post(LOGIN, content=b'{"email": "\xff\xfe"}', headers={"content-type": "application/json"})  # fmt: skip
    assert resp.status_code in (400, 422)
    assert set(resp.json()) == {"code", "message", "errors"}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": 5, "password": ["x"]}, {"email", "password"}),
        ({"email": "a@b.io"}, {"password"}),
        ({}, {"email", "password"}),
        ({"client_id": "abc"}, {"client_secret"}),
        ({"email": "a@b.io", "password": "p" * 12, "extra": 1}, {"extra"}),
        ([1, 2], {"body"}),
    ],
)
def test_wrong_fields_answer_422_naming_each(client: TestClient, body: Any, fields: set[str]) -> None:  # fmt: skip
    resp = client.post(LOGIN, json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "validation_error"
    assert set(resp.json()["errors"]) == fields


def test_user_fields_are_validated(client: TestClient, headers: Any) -> None:
    resp = client.post("/api/v1/users", json={"email": "not-an-email", "password": "short", "role": "boss"}, headers=headers(Role.admin))  # fmt: skip
    assert resp.status_code == 422
    assert set(resp.json()["errors"]) == {"email", "password", "role"}
    bad_id = client.patch("/api/v1/users/not-a-uuid", json={}, headers=headers(Role.admin))
    assert bad_id.status_code == 422 and "user_id" in bad_id.json()["errors"]


def test_huge_bodies_answer_413(settings: Settings, db: Database) -> None:
    small = settings.model_copy(update={"max_request_bytes": 2048})
    too_big = b'{"email": "' + b"a" * 4096 + b'"}'
    with TestClient(create_app(small, database=db)) as client:
        resp = client.post(LOGIN, content=too_big, headers={"content-type": "application/json"})
        assert resp.status_code == 413
        assert resp.json()["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"email": "'
            for _ in range(8):
                yield b"a" * 1024
            yield b'"}'

        streamed = client.post(
            LOGIN, content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


def test_overlong_secret_is_refused_before_hashing(client: TestClient) -> None:
    resp = client.post(LOGIN, json={"email": "a@b.io", "password": "p" * 100_000})
    assert resp.status_code == 422 and "password" in resp.json()["errors"]
