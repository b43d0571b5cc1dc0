"""A fake Oracle Fusion Cloud REST server (ADF REST framework) for demos and tests.

Serves ``/fscmRestApi/resources/11.13.18.05/{resource}`` from generated plant data
(``oracle_data``) and an IDCS-like token endpoint at ``/oracle-idcs/oauth2/v1/token``,
following Oracle's documented behaviour:

- collections computed from the request's own query (``oracle_query``);
- create (``POST``, ``Upsert-Mode: true`` honoured), update (``PATCH``), get one item, with
  payloads validated against the resource's attributes (``oracle_store``);
- batches (``application/vnd.oracle.adf.batch+json``) applied all-or-none: one bad part and
  nothing is applied; only the failed part is listed in the 400 answer;
- errors as text (framework versions 1-3) or the JSON error document
  ``application/vnd.oracle.adf.error+json`` (version 4 and later);
- basic auth and bearer tokens from the client-credentials grant.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
from collections.abc import Callable
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from plantsync.sandbox.oracle import data as oracle_data
from plantsync.sandbox.oracle import query as oracle_query
from plantsync.sandbox.oracle.query import ROOT
from plantsync.sandbox.oracle.store import (
    ENTITY_RESOURCES,
    RESOURCES,
    OracleError,
    State,
    write,
)

TOKEN_PATH = "/oracle-idcs/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
COLLECTION_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
ERROR_TYPE = "application/vnd.oracle.adf.error+json"
USERNAME = "plantsync.integration"
PASSWORD = "Sandbox-Oracle-1"  # noqa: S105 - a fake ERP's demo credentials
CLIENT_ID = "plantsync-sandbox-client"
CLIENT_SECRET = "sandbox-oracle-client-secret"  # noqa: S105
SCOPE = "urn:opc:resource:fa:instanceid=sandbox urn:opc:resource:consumer::all"


class OracleSandbox:
    """The fake Oracle Fusion REST server (see the module docstring).

    Test hooks: ``missing_resources`` answer 404, ``forbidden_resources`` answer 403, and
    ``revoke_tokens()`` invalidates every issued bearer token.
    """

    name: ClassVar[str] = "oracle"
    prefixes: ClassVar[tuple[str, ...]] = ("/fscmRestApi/", "/oracle-idcs/")

    def __init__(self, *, records: int, seed: int = 0) -> None:
        self.seed = seed
        self.missing_resources: set[str] = set()
        self.forbidden_resources: set[str] = set()
        self.tokens: set[str] = set()
        self.token_expires_in = 3600
        self.reset(records=records)
        self.app = Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(ROOT, self._batch, methods=["POST"]),
                Route(ROOT + "/{resource}", self._collection, methods=["GET", "POST"]),
                Route(ROOT + "/{resource}/{key}", self._item, methods=["GET", "PATCH"]),
            ]
        )

    # -- the provider protocol -----------------------------------------------------------

    def info(self, base_url: str) -> dict[str, Any]:
        base = base_url.rstrip("/")
        return {
            "base_url": base,
            "auth_config": {"username": USERNAME, "password": PASSWORD},
            "oauth_auth_config": {
                "token_url": base + TOKEN_PATH,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": SCOPE,
            },
        }

    def dump(self, entity: str) -> list[dict[str, Any]]:
        """Rows of ``entity``: machine (installedBaseAssets), work_order (maintenanceWorkOrders,
        where PlantSync writes), downtime, production_data."""
        if entity not in ENTITY_RESOURCES:
            raise KeyError(f"unknown entity {entity!r}")
        rows = self.state.rows[ENTITY_RESOURCES[entity]]
        return [copy.deepcopy(dict(rows[k])) for k in sorted(rows)]

    def reset(self, *, records: int) -> None:
        self.state = oracle_data.generate(records=records, seed=self.seed)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- endpoints -----------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        client_id, secret = _basic(request) or (
            str(form.get("client_id", "")),
            str(form.get("client_secret", "")),
        )
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                401,
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Grant type not supported.",
                },
                400,
            )
        if form.get("scope") and not set(str(form["scope"]).split()) <= set(SCOPE.split()):
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "The requested scope is invalid."},
                400,
            )
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_expires_in}
        )

    async def _collection(self, request: Request) -> Response:
        return await self._handle(request, lambda v: self._get_or_create(request, v))

    async def _item(self, request: Request) -> Response:
        return await self._handle(request, lambda v: self._get_or_update(request, v))

    async def _batch(self, request: Request) -> Response:
        return await self._handle(request, lambda v: self._run_batch(request, v))

    async def _handle(self, request: Request, action: Callable[[int], Response]) -> Response:
        version = _framework_version(request)
        try:
            self._authenticate(request)
            request.state.body = await request.body()
            return action(version)
        except OracleError as err:
            return _error(err, version)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and header[7:].strip() in self.tokens:
            return
        if _basic(request) == (USERNAME, PASSWORD):
            return
        raise OracleError(401, "Authentication failed.")

    def _check_resource(self, name: str) -> None:
        """Refuse a resource that does not exist or that a test hook has hidden or forbidden."""
        if name in self.forbidden_resources:
            raise OracleError(403, f"You don't have permission to access {name}.")
        if name not in RESOURCES or name in self.missing_resources:
            raise OracleError(404, f"The requested URL {ROOT}/{name} was not found on this server.")

    def _get_or_create(self, request: Request, version: int) -> Response:
        name = request.path_params["resource"]
        self._check_resource(name)
        if request.method == "GET":
            body = oracle_query.page(
                self.state,
                name,
                params=request.query_params,
                version=version,
                base_url=str(request.base_url),
                self_url=str(request.url),
            )
            return JSONResponse(body, media_type=COLLECTION_TYPE)
        _check_type(request, (ITEM_TYPE, "application/json"))
        payload = _json_body(request)
        upsert = request.headers.get("upsert-mode", "").lower() == "true"
        row, created = write(self.state, name, payload, None, upsert=upsert)
        return JSONResponse(row, status_code=201 if created else 200, media_type=ITEM_TYPE)

    def _get_or_update(self, request: Request, version: int) -> Response:
        name = request.path_params["resource"]
        self._check_resource(name)
        key = _int_key(request.path_params["key"])
        rows = self.state.rows[name]
        if key not in rows:
            raise OracleError(
                404, f"The requested resource {name}/{request.path_params['key']} was not found."
            )
        if request.method == "GET":
            return JSONResponse(rows[key], media_type=ITEM_TYPE)
        _check_type(request, (ITEM_TYPE, "application/json"))
        row, _ = write(self.state, name, _json_body(request), key)
        return JSONResponse(row, media_type=ITEM_TYPE)

    def _run_batch(self, request: Request, version: int) -> Response:
        _check_type(request, (BATCH_TYPE,))
        body = _json_body(request)
        parts = body.get("parts")
        if not isinstance(parts, list) or not parts:
            raise OracleError(400, "The batch request has no parts.")
        # All-or-none: the parts are applied as they come, journalled, and the changes are
        # taken back when one fails (a journal, not a copy of every table per batch).
        state = self.state
        first_id = state.next_id
        journal: list[tuple[str, int, dict[str, Any] | None]] = []
        state.journal = journal
        answers = []
        try:
            for part in parts:
                try:
                    answers.append({**part, "payload": self._part(state, part)})
                except OracleError as err:
                    state.undo(journal)
                    state.next_id = first_id
                    failed = {
                        "id": part.get("id"),
                        "path": part.get("path"),
                        "operation": part.get("operation"),
                        "exception": _error_doc(err),
                    }
                    return JSONResponse(
                        {"parts": [failed]},
                        status_code=err.status if err.status != 404 else 400,
                        media_type=BATCH_TYPE,
                    )
        except BaseException:
            state.undo(journal)
            state.next_id = first_id
            raise
        finally:
            state.journal = None
        return JSONResponse({"parts": answers}, media_type=BATCH_TYPE)

    def _part(self, state: State, part: Any) -> dict[str, Any]:
        if not isinstance(part, dict) or not isinstance(part.get("path"), str):
            raise OracleError(400, "A batch part needs id, path and operation.")
        segments = [s for s in part["path"].split("/") if s]
        name = segments[0] if segments else ""
        self._check_resource(name)
        rows = state.rows[name]
        op = part.get("operation")
        payload = part.get("payload") or {}
        if op in ("create", "upsert") and len(segments) == 1:
            return write(state, name, payload, None, upsert=op == "upsert")[0]
        if op == "update" and len(segments) == 2:
            key = _int_key(segments[1])
            if key not in rows:
                raise OracleError(404, f"The requested resource {part['path']} was not found.")
            return write(state, name, payload, key)[0]
        if op == "get" and len(segments) == 2 and _int_key(segments[1]) in rows:
            return rows[_int_key(segments[1])]
        raise OracleError(400, f"The operation {op!r} on {part['path']} is not supported.")


# -- small helpers -------------------------------------------------------------------------


def _framework_version(request: Request) -> int:
    try:
        return max(1, int(request.headers.get("rest-framework-version", "1")))
    except ValueError:
        return 1


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _check_type(request: Request, allowed: tuple[str, ...]) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in allowed:
        raise OracleError(
            415, f"The media type {media or '(none)'} is not supported; use {allowed[0]}."
        )


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.state.body or b"null")
    except ValueError:
        raise OracleError(400, "The request payload is not valid JSON.") from None


def _int_key(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise OracleError(404, f"The resource key {text!r} was not found.") from None


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    415: "Unsupported Media Type",
}


def _error_doc(err: OracleError) -> dict[str, Any]:
    detail: dict[str, Any] = {"detail": err.detail}
    if err.code:
        detail["o:errorCode"] = err.code
    return {
        "type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": _TITLES.get(err.status, "Error"),
        "status": str(err.status),
        "o:errorDetails": [detail],
    }


def _error(err: OracleError, version: int) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="fusion", Bearer'} if err.status == 401 else None
    if version >= 4:
        return JSONResponse(_error_doc(err), err.status, headers=headers, media_type=ERROR_TYPE)
    return PlainTextResponse(err.detail, err.status, headers=headers)
