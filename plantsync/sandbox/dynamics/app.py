"""A local Dataverse Web API v9.2 with an Azure AD-like token endpoint msal accepts.

Serves, under one origin:

- ``/<tenant>/v2.0/.well-known/openid-configuration`` and ``/<tenant>/oauth2/v2.0/token``
  (client credentials; AADSTS errors for a wrong client id, secret or scope);
- ``/api/data/v9.2/``: ``WhoAmI``, collections with ``$select``, ``$filter``, ``$top``,
  ``Prefer: odata.maxpagesize`` paging by ``@odata.nextLink`` (a skiptoken cookie holding the
  last key), change tracking (``odata.track-changes`` -> ``@odata.deltaLink``, deletions as
  ``$deletedEntity``), single rows, ``PATCH`` upserts by GUID, ``POST`` creates, ``DELETE``,
  and ``$batch`` (requests, changesets, ``odata.continue-on-error``); bearer tokens checked.

Control methods for tests: ``expire_delta_tokens``, ``expire_access_tokens``,
``set_change_tracking``, ``drop_table``, ``delete_row``, ``throttle``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plantsync.sandbox.dynamics.batch import run_batch
from plantsync.sandbox.dynamics.query import render_collection, render_row
from plantsync.sandbox.dynamics.schema import DataverseFault
from plantsync.sandbox.dynamics.store import Store
from plantsync.sandbox.dynamics.wire import aad_error, json_body, origin_of, row_key

TENANT_ID = "5f0c1a2b-7d3e-4c8f-9a6b-2e1d0c9b8a7f"
CLIENT_ID = "3c9e5a71-2b4d-4f6e-8a0c-1d2e3f4a5b6c"
CLIENT_SECRET = "sandbox-dataverse-secret"  # noqa: S105 - the sandbox's own test credential
API = "/api/data/v9.2/"
ENTITY_TABLES = {
    "machine": "msdyn_customerassets",
    "work_order": "msdyn_workorders",
    "downtime": "plnt_downtimeevents",
    "production_data": "plnt_productionrecords",
}
_ROW = re.compile(r"^([A-Za-z0-9_]+)\((.*)\)$")


@dataclass
class Answer:
    """One HTTP answer of the API (shared by plain requests and ``$batch`` parts)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body).encode("utf-8")


class DynamicsSandbox:
    """The Dataverse provider of the sandbox (see the module docstring)."""

    name: ClassVar[str] = "dynamics"
    prefixes: ClassVar[tuple[str, ...]] = ("/api/data/", f"/{TENANT_ID}/")

    def __init__(self, *, records: int, seed: int = 0) -> None:
        self.seed = seed
        self.token_lifetime_s = 3599
        self.token_requests = 0
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._throttle: list[float] = []
        self.store = Store(records=records, seed=seed)
        self.app = Starlette(
            routes=[
                Route(f"/{TENANT_ID}/v2.0/.well-known/openid-configuration", self._openid),
                Route(f"/{TENANT_ID}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route(
                    API + "{path:path}",
                    self._api,
                    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
                ),
            ]
        )

    # -- the provider protocol ------------------------------------------------------------

    def info(self, base_url: str) -> dict[str, Any]:
        origin = base_url.rstrip("/")
        return {
            "base_url": origin,
            "auth_config": {
                "tenant_id": TENANT_ID,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "authority": f"{origin}/{TENANT_ID}",
            },
        }

    def dump(self, entity: str) -> list[dict[str, Any]]:
        with self._lock:
            table = self.store.tables.get(ENTITY_TABLES[entity])
            return [dict(row) for _, row in sorted(table.rows.items())] if table else []

    def reset(self, *, records: int) -> None:
        with self._lock:
            self.store = Store(records=records, seed=self.seed)
            self._tokens.clear()
            self._throttle.clear()

    # -- controls for tests -----------------------------------------------------------------

    def expire_delta_tokens(self) -> None:
        """Every delta token handed out so far is now expired (ExpiredVersionStamp)."""
        with self._lock:
            self.store.min_delta_version = self.store.version + 1

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def set_change_tracking(self, entity_set: str, enabled: bool) -> None:
        with self._lock:
            self.store.table(entity_set).change_tracking = enabled

    def drop_table(self, entity_set: str) -> None:
        """Remove a table, as in an environment without the solution that brings it."""
        with self._lock:
            self.store.tables.pop(entity_set, None)

    def delete_row(self, entity: str, key: str) -> None:
        with self._lock:
            self.store.delete(ENTITY_TABLES[entity], key)

    def throttle(self, count: int, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` API requests with 429 and ``Retry-After``."""
        with self._lock:
            self._throttle += [retry_after] * count

    # -- identity provider ------------------------------------------------------------------

    async def _openid(self, request: Request) -> Response:
        origin = origin_of(request)
        base = f"{origin}/{TENANT_ID}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            }
        )

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003, "Unsupported grant type.")
        if form.get("client_id") != CLIENT_ID:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{TENANT_ID}'.",
            )
        if form.get("client_secret") != CLIENT_SECRET:
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{CLIENT_ID}'.",
            )
        scope = str(form.get("scope") or "")
        if f"{origin_of(request)}/.default" not in scope.split():
            return aad_error(
                400,
                "invalid_scope",
                500011,
                f"The resource principal named {scope} was not found in the tenant named "
                f"{TENANT_ID}.",
            )
        token = "sbx." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime_s
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_s,
                "ext_expires_in": self.token_lifetime_s,
                "access_token": token,
            },
            headers={"Cache-Control": "no-store"},
        )

    # -- the Web API ----------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        denied = self._check_bearer(request)
        if denied is not None:
            return denied
        with self._lock:
            if self._throttle:
                retry_after = self._throttle.pop(0)
                return JSONResponse(
                    {
                        "error": {
                            "code": "0x80072322",
                            "message": "Number of requests exceeded "
                            "the limit of 6000 over time window of 300 seconds.",
                        }
                    },
                    status_code=429,
                    headers={"Retry-After": f"{retry_after:g}"},
                )
        body = await request.body()
        origin = origin_of(request)
        path = request.url.path[len(API) :]
        if path == "$batch" and request.method == "POST":
            status, headers, content = run_batch(
                self,
                origin,
                request.headers.get("content-type", ""),
                body,
                prefer=request.headers.get("prefer", ""),
            )
            return Response(content, status_code=status, headers=headers)
        answer = self.dispatch(
            request.method, origin, path, request.url.query, dict(request.headers), body
        )
        return Response(
            answer.content(),
            status_code=answer.status,
            headers={"OData-Version": "4.0", **answer.headers},
            media_type="application/json; odata.metadata=minimal" if answer.body else None,
        )

    def _check_bearer(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or expiry < time.monotonic():
            authorize = f"{origin_of(request)}/{TENANT_ID}/oauth2/authorize"
            return Response(
                b"",
                status_code=401,
                headers={"WWW-Authenticate": f"Bearer authorization_uri={authorize}"},
            )
        return None

    def dispatch(
        self, method: str, origin: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        """One API request (also a ``$batch`` part): ``path`` is below ``/api/data/v9.2/``."""
        lowered = {k.lower(): v for k, v in headers.items()}
        params = dict(parse_qsl(query, keep_blank_values=True))
        with self._lock:
            try:
                return self._route(method, origin, unquote(path), params, lowered, body)
            except DataverseFault as fault:
                return Answer(
                    fault.status, {"error": {"code": fault.code, "message": fault.message}}
                )

    def _route(
        self,
        method: str,
        origin: str,
        path: str,
        params: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Answer:
        prefer = headers.get("prefer", "")
        if path == "WhoAmI" and method == "GET":
            return Answer(
                200,
                {
                    "@odata.context": f"{origin}{API}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, "bu")),
                    "UserId": str(uuid.uuid5(uuid.NAMESPACE_URL, "app-user")),
                    "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, "org")),
                },
            )
        match = _ROW.match(path)
        if match is None:
            table = self.store.table(path)
            if method == "GET":
                return Answer(200, render_collection(self.store, path, origin, params, prefer))
            if method == "POST":
                key = str(uuid.uuid4())
                data = json_body(body)
                key = str(data.pop(table.key, key)).lower()
                return self._write(path, key, data, origin, params, prefer, must_not_exist=True)
            raise DataverseFault(405, "0x80060888", f"{method} is not supported on {path}.")
        name, key = match.group(1), row_key(match.group(2))
        table = self.store.table(name)
        if method == "GET":
            row = table.rows.get(key)
            if row is None:
                raise DataverseFault(
                    404, "0x80040217", f"{table.logical} With Id = {key} Does Not Exist"
                )
            return Answer(
                200, render_row(self.store, name, row, origin, params, prefer, context=True)
            )
        if method == "PATCH":
            return self._write(
                name,
                key,
                json_body(body),
                origin,
                params,
                prefer,
                must_exist=headers.get("if-match") == "*",
                must_not_exist=headers.get("if-none-match") == "*",
            )
        if method == "DELETE":
            self.store.delete(name, key)
            return Answer(204)
        raise DataverseFault(405, "0x80060888", f"{method} is not supported on {path}.")

    def _write(
        self,
        name: str,
        key: str,
        data: dict[str, Any],
        origin: str,
        params: dict[str, str],
        prefer: str,
        *,
        must_exist: bool = False,
        must_not_exist: bool = False,
    ) -> Answer:
        row, created = self.store.upsert(
            name, key, data, must_exist=must_exist, must_not_exist=must_not_exist
        )
        entity_id = f"{origin}{API}{name}({key})"
        headers = {"OData-EntityId": entity_id, "Location": entity_id}
        if "return=representation" in prefer:
            body = render_row(self.store, name, row, origin, params, prefer, context=True)
            return Answer(
                201 if created else 200,
                body,
                {**headers, "Preference-Applied": "return=representation"},
            )
        return Answer(204, None, headers)
