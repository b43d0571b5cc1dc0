"""``/docs`` documents every endpoint: examples for every success answer and request body,
every example valid against its schema, every error in the one ``{code, message, errors}``
shape. A new endpoint without examples fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from cryptography.fernet import Fernet
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from plantsync.api.app import create_app
from plantsync.core.config import Settings

Operation = tuple[str, str, dict[str, Any]]
# Answer without a caller: the probes, the metrics scrape and the token flow itself.
PUBLIC = {"/healthz", "/readyz", "/metrics", "/api/v1/account/login"}
PUBLIC |= {"/api/v1/account/refresh-token", "/api/v1/account/logout"}
ISSUE_CREATE_BODY = {
    "name": "SAP Production", "provider": "sap", "base_url": "https://sap.yourcompany.com",
    "auth_config": {"username": "plantsync_integration", "password": "secure_password"},
    "sync_interval_minutes": 60, "is_active": True,
    "field_mappings": {"work_order_id": "AUFNR", "machine_id": "EQUNR"},
}  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir: Path = tmp_path_factory.mktemp("docs")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'docs.db'}",
        secret_key="docs-test-secret-key-of-at-least-32-chars",  # type: ignore[arg-type]
        encryption_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(spec: dict[str, Any]) -> Iterator[Operation]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _has_example(media: dict[str, Any]) -> bool:
    return "example" in media or bool(media.get("examples"))


def missing_examples(spec: dict[str, Any]) -> list[str]:
    """Each operation whose success answer or request body shows no example."""
    missing = []
    for method, path, operation in operations(spec):
        successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        if not successes:
            missing.append(f"{method} {path}: no success response")
        for status, response in successes.items():
            if status != "204" and not response.get("content"):
                missing.append(f"{method} {path} {status}: no content")
            for media_type, media in response.get("content", {}).items():
                if not media.get("schema"):
                    missing.append(f"{method} {path} {status} {media_type}: no schema")
                if not _has_example(media):
                    missing.append(f"{method} {path} {status} {media_type}: no example")
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if not _has_example(media):
                missing.append(f"{method} {path} request {media_type}: no example")
    return missing


def examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """``(where, schema, value)`` of every example of a request body or response."""
    for method, path, operation in operations(spec):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(status, r) for status, r in operation["responses"].items()]
        for name, holder in bodies:
            for media_type, media in holder.get("content", {}).items():
                schema = media.get("schema", {})
                if "example" in media:
                    yield f"{method} {path} {name} {media_type}", schema, media["example"]
                for key, named in media.get("examples", {}).items():
                    yield f"{method} {path} {name} {media_type} [{key}]", schema, named["value"]


def schema_errors(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec.get("components", {}),
        **schema,
    }
    validator = jsonschema_rs.validator_for(root, validate_formats=True)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(value)]


def test_every_operation_has_success_and_request_examples(spec: dict[str, Any]) -> None:
    assert list(operations(spec)), "no operations documented"
    assert missing_examples(spec) == []


def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    checked = 0
    problems = []
    for where, schema, value in examples(spec):
        checked += 1
        if schema:
            problems += [f"{where}: {p}" for p in schema_errors(spec, schema, value)]
    assert checked > 200
    assert problems == []


def test_errors_are_documented_in_one_shape(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(spec)
    problems = []
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith("4"):
                media = response.get("content", {}).get("application/json", {})
                if media.get("schema") != {"$ref": "#/components/schemas/ErrorBody"}:
                    problems.append(f"{method} {path} {status}: not an ErrorBody")
                if not _has_example(media):
                    problems.append(f"{method} {path} {status}: no example")
        if path not in PUBLIC and "401" not in responses:
            problems.append(f"{method} {path}: 401 not documented")
        if "{" in path and "404" not in responses:
            problems.append(f"{method} {path}: 404 not documented")
        if ("requestBody" in operation or operation.get("parameters")) and "422" not in responses:
            problems.append(f"{method} {path}: 422 not documented")
    assert problems == []


def test_roles_are_reflected_in_403(spec: dict[str, Any]) -> None:
    users = spec["paths"]["/api/v1/users"]["get"]["responses"]
    assert users["403"]["content"]["application/json"]["example"]["message"] == (
        "This action needs the admin role"
    )
    calls = spec["paths"]["/api/v1/calls"]["post"]["responses"]
    assert "operator role" in calls["403"]["content"]["application/json"]["example"]["message"]
    assert "403" not in spec["paths"]["/api/v1/machines"]["get"]["responses"]  # any role


def test_connection_create_shows_the_issue_body_and_no_secret_in_answers(
    spec: dict[str, Any],
) -> None:
    create = spec["paths"]["/api/v1/erp/connections"]["post"]
    shown = create["requestBody"]["content"]["application/json"]["examples"]
    assert [e["value"] for e in shown.values()] == [ISSUE_CREATE_BODY]
    for method, path, operation in operations(spec):
        if path.startswith("/api/v1/erp"):
            answers = json.dumps(operation["responses"])
            assert "secure_password" not in answers and '"auth_config"' not in answers, path


class Thing(BaseModel):
    name: str


def test_a_new_endpoint_without_examples_is_caught() -> None:
    router = APIRouter()

    @router.post("/api/v1/things", response_model=Thing)
    def create_thing(body: Thing) -> Thing:
        return body

    bare = FastAPI()
    bare.include_router(router)
    assert missing_examples(bare.openapi()) == [
        "POST /api/v1/things 200 application/json: no example",
        "POST /api/v1/things request application/json: no example",
    ]


def test_docs_and_schema_answer(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 200
        docs = client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
