"""The SAP sandbox: SAP Gateway OData V2 services built from the real S/4HANA ``$metadata``.

Serves ``/sap/opu/odata/sap/<SERVICE>/...`` for API_EQUIPMENT, API_MAINTENANCEORDER,
API_MAINTNOTIFICATION, API_PRODUCTION_ORDER_2_SRV, API_PROD_ORDER_CONFIRMATION_2_SRV and
API_FUNCTIONALLOCATION, like a Gateway does:

- basic auth (and ``sap-client``, when given, must be the sandbox's client);
- CSRF: ``x-csrf-token: Fetch`` on a GET returns a token bound to the session cookie; a
  modifying request or ``$batch`` without that token gets 403, ``x-csrf-token: Required`` and
  "CSRF token validation failed";
- collections computed from the request's query (``$filter``, ``$orderby``, ``$top``,
  ``$skip``, ``$skiptoken``, ``$inlinecount``, ``/$count``, ``$select``) with server-driven
  paging (``__next``) at ``page_size`` rows (1,000 by default, like a Gateway);
- writes checked against the metadata, SAP-assigned numbers, the function imports the
  default mapping uses; ``$batch`` with changesets (a failing change fails its changeset);
- SAP error bodies (``error.message.value``) and ``sap-message`` headers.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from plantsync.connectors import multipart
from plantsync.sandbox.sap.index import indexed_rows
from plantsync.sandbox.sap.query import (
    QueryError,
    _literal,
    _tokens,
    order_entry,
    order_specs,
    page,
    parse,
)
from plantsync.sandbox.sap.schema import ENTITY_SETS, SapError, Table, load_models
from plantsync.sandbox.sap.store import Store
from plantsync.sandbox.sap.wire import (
    entity_path,
    error_body,
    error_response,
    http_part,
    http_request,
    json_response,
    parse_key,
    read_body,
    row_json,
    sap_message,
)
from plantsync.sandbox.table import Row, View

ROOT = "/sap/opu/odata/sap/"
SESSION_COOKIE = "SAP_SESSIONID_PS1_100"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "MERGE", "DELETE"]
_RESOURCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?(/\$count)?$")
_models_cache: dict[str, Any] = {}


class SapSandbox:
    """A fake SAP Gateway (see the module docstring) over generated, seeded plant data."""

    name = "sap"
    prefixes = ("/sap/",)
    username = "PLANTSYNC"
    password = "sandbox-sap-pass"  # noqa: S105 - a test double's fixed credential
    sap_client = "100"

    def __init__(self, *, records: int, seed: int = 0, page_size: int = 1000) -> None:
        if "models" not in _models_cache:
            _models_cache["models"] = load_models()
        self.seed = seed
        self.page_size = page_size
        self.store = Store(_models_cache["models"])
        self.store.generate(records, seed)
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()
        routes = [
            Route(ROOT + "{service}/{rest:path}", self._endpoint, methods=_METHODS),
            Route(ROOT + "{service}", self._endpoint, methods=_METHODS),
        ]
        self.app = Starlette(routes=routes)

    # --- the provider sandbox protocol -----------------------------------------------------

    def info(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "auth_config": {
                "username": self.username,
                "password": self.password,
                "sap_client": self.sap_client,
            },
        }

    def dump(self, entity: str) -> list[dict[str, Any]]:
        if entity not in ENTITY_SETS:
            raise KeyError(f"unknown entity {entity!r} (known: {', '.join(ENTITY_SETS)})")
        with self._lock:
            table = self.store.table(*ENTITY_SETS[entity])
            return [table.full(row) for row in table.rows.values()]

    def reset(self, *, records: int) -> None:
        with self._lock:
            self.store.generate(records, self.seed)
            self._sessions.clear()

    # --- HTTP ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            return self._handle(request, body)

    def _handle(self, request: Request, body: bytes) -> Response:
        service = request.path_params["service"]
        rest = request.path_params.get("rest", "")
        if not self._authorised(request):
            return Response(
                "Logon failed",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'},
            )
        if service not in self.store.models:
            return error_response(
                SapError(
                    404, f"No service found for namespace '', name '{service}'", "/IWFND/MED/170"
                )
            )
        headers: dict[str, str] = {}
        session = request.cookies.get(SESSION_COOKIE)
        if request.method == "GET" and request.headers.get("x-csrf-token", "").lower() == "fetch":
            if session not in self._sessions:
                session = secrets.token_hex(16)
                self._sessions[session] = secrets.token_urlsafe(16)
            headers["x-csrf-token"] = self._sessions[session]
        elif request.method not in ("GET", "HEAD") and (
            not session
            or session not in self._sessions
            or request.headers.get("x-csrf-token") != self._sessions[session]
        ):
            return Response(
                "CSRF token validation failed",
                status_code=403,
                headers={"x-csrf-token": "Required"},
                media_type="text/plain",
            )
        response = self._route(request, service, rest, body)
        response.headers.update(headers)
        if session and "x-csrf-token" in headers:
            response.set_cookie(SESSION_COOKIE, session, httponly=True, secure=True)
        return response

    def _authorised(self, request: Request) -> bool:
        client = request.query_params.get("sap-client")
        if client is not None and client != self.sap_client:
            return False
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user.upper() == self.username and secrets.compare_digest(password, self.password)

    def _route(self, request: Request, service: str, rest: str, body: bytes) -> Response:
        origin = f"{request.url.scheme}://{request.url.netloc}"
        if rest in ("", "/"):
            sets = sorted(self.store.models[service][1].entity_sets)
            return json_response(200, {"d": {"EntitySets": sets}})
        if rest == "$metadata":
            return Response(self.store.models[service][0], media_type="application/xml")
        if rest == "$batch" and request.method == "POST":
            return self._batch(service, request.headers.get("content-type", ""), body, origin)
        query = {k: v for k, v in request.query_params.items() if k != "sap-client"}
        status, extra, payload = self.dispatch(service, request.method, rest, query, body, origin)
        if payload is None:
            return Response(status_code=status, headers=extra)
        if isinstance(payload, str):
            return Response(payload, status_code=status, headers=extra, media_type="text/plain")
        response = json_response(status, payload)
        response.headers.update(extra)
        return response

    # --- one request (also inside $batch) ------------------------------------------------------

    def dispatch(
        self,
        service: str,
        method: str,
        rest: str,
        query: Mapping[str, str],
        body: bytes,
        origin: str,
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON payload | text | None) of one OData request."""
        try:
            return self._dispatch(service, method, rest, query, body, origin)
        except SapError as exc:
            return exc.status, sap_message(exc), error_body(exc)
        except QueryError as exc:
            err = SapError(400, str(exc), "/IWBEP/CM_MGW_RT/006")
            return 400, sap_message(err), error_body(err)

    def _dispatch(
        self,
        service: str,
        method: str,
        rest: str,
        query: Mapping[str, str],
        body: bytes,
        origin: str,
    ) -> tuple[int, dict[str, str], Any]:
        m = _RESOURCE.match(rest)
        if not m:
            raise SapError(404, f"Resource not found for segment '{rest}'", "/IWBEP/CM_MGW_RT/021")
        name, key_text, count = m.groups()
        model = self.store.models[service][1]
        if name in model.function_imports:
            return self._function(service, name, method, query)
        table = self.store.table(service, name)
        base = f"{origin}{ROOT}{service}/"
        if key_text is None:
            if method == "GET":
                return self._collection(table, query, base, count=bool(count))
            if method == "POST":
                row = self.store.create(service, name, read_body(body))
                return (
                    201,
                    {"location": base + entity_path(table, row)},
                    {"d": row_json(table, row, base)},
                )
            raise SapError(405, f"Method {method} is not allowed on {name}")
        key = parse_key(table, key_text)
        if method == "GET":
            return 200, {}, {"d": row_json(table, self.store.get(service, name, key), base)}
        if method in ("MERGE", "PATCH", "PUT"):
            self.store.update(service, name, key, read_body(body))
            return 204, {}, None
        if method == "DELETE":
            if not table.es.deletable:
                raise SapError(405, f"Entity set {name} cannot be deleted", "/IWBEP/CM_MGW_RT/022")
            self.store.delete(service, name, key)
            return 204, {}, None
        raise SapError(405, f"Method {method} is not allowed on {name}")

    def _collection(
        self, table: Table, query: Mapping[str, str], base: str, *, count: bool
    ) -> tuple[int, dict[str, str], Any]:
        rows = self._view(table, query.get("$filter"), query.get("$orderby"))
        if count:
            return 200, {}, str(len(rows))
        chunk, nxt = page(rows, query, server_page=self.page_size, next_base=base + table.es.name)
        select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()]
        d: dict[str, Any] = {"results": [row_json(table, r, base, select) for r in chunk]}
        if query.get("$inlinecount") == "allpages":
            d["__count"] = str(len(rows))
        if nxt:
            d["__next"] = nxt
        return 200, {}, {"d": d}

    @staticmethod
    def _view(table: Table, filter_text: str | None, orderby: str | None) -> Sequence[Row]:
        """The rows ``$filter`` keeps in ``$orderby`` order: found by key or index when the
        filter names its rows (``sap_index``), else a view of the table kept sorted across
        requests and writes, so a page by ``$skip``/``$skiptoken`` costs its size."""
        predicate, terms = parse(filter_text, list(table.es.properties))
        order = order_entry(order_specs(orderby, table.es.key))
        found = indexed_rows(table, terms, order)
        if found is not None:
            return found

        def entry(key: tuple[Any, ...], row: Row) -> tuple[Any, ...]:
            return (*order(row), row.seq, key)

        def build() -> View[tuple[Any, ...]]:
            return View(table.rows, keep=predicate, entry=entry, key_of=lambda e: e[-1])

        return table.rows.view((filter_text or "", orderby or ""), build).as_sequence()

    def _function(
        self, service: str, name: str, method: str, query: Mapping[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        fi = self.store.models[service][1].function_imports[name]
        if method != fi.http_method:
            raise SapError(405, f"Function import {name} must be called with {fi.http_method}")
        args = {}
        for param, raw in query.items():
            if param not in fi.parameters:
                if param.startswith("$"):
                    continue
                raise SapError(400, f"Parameter '{param}' is not a parameter of {name}")
            tokens = _tokens(raw)
            if len(tokens) != 1:
                raise SapError(400, f"Parameter '{param}' has an invalid literal")
            args[param] = _literal(*tokens[0])
        for spec in fi.parameters.values():
            if not spec.nullable and spec.name not in args:
                raise SapError(400, f"Parameter '{spec.name}' is mandatory")
        answer = self.store.call(service, name, args)
        if answer is None:
            return 200, {}, {"d": {"Success": True}}
        table, row = answer
        return 200, {}, {"d": row_json(table, row, f"{ROOT}{service}/")}

    # --- $batch ----------------------------------------------------------------------------

    def _batch(self, service: str, content_type: str, body: bytes, origin: str) -> Response:
        try:
            parts = multipart.split(content_type, body)
        except multipart.MultipartError as exc:
            return error_response(
                SapError(400, f"Invalid $batch body: {exc}", "/IWBEP/CM_MGW_RT/007")
            )
        out = [
            self._changeset(service, part, origin)
            if part.is_multipart
            else self._batch_read(service, part.body, origin)
            for part in parts
        ]
        content, media_type = multipart.build(out, boundary=multipart.new_boundary("batchresponse"))
        return Response(content, status_code=202, media_type=media_type)

    def _batch_read(self, service: str, payload: bytes, origin: str) -> multipart.Part:
        request = http_request(payload)
        return http_part(
            *self._batch_call(service, request.method, request.url, request.body, origin)
        )

    def _changeset(self, service: str, part: multipart.Part, origin: str) -> multipart.Part:
        requests = [http_request(p.body) for p in multipart.split(part.content_type, part.body)]
        journal: list[Any] = []
        self.store.journal = journal
        answers = []
        try:
            for request in requests:
                status, headers, data = self._batch_call(
                    service, request.method, request.url, request.body, origin
                )
                if status >= 400:
                    self.store.rollback(journal)
                    return http_part(status, headers, data)
                answers.append(http_part(status, headers, data))
        finally:
            self.store.journal = None
        return multipart.nested(answers, boundary=multipart.new_boundary("changesetresponse"))

    def _batch_call(
        self, service: str, method: str, url: str, body: bytes, origin: str
    ) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(url)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        query.pop("sap-client", None)
        return self.dispatch(service, method.upper(), split.path.lstrip("/"), query, body, origin)
