"""A fake Oracle Fusion Cloud REST server (ADF REST framework) for demos and tests.

Serves ``/fscmRestApi/resources/11.13.18.05/{resource}`` from generated plant data and an
IDCS-like token endpoint at ``/oracle-idcs/oauth2/v1/token``, following Oracle's documented
behaviour:

- collections computed from the request's own query: ``limit`` (25 when absent, at most 500),
  ``offset``, ``q`` (query-by-example under ``REST-Framework-Version`` 1, the default;
  expressions joined by ``and`` from version 2), ``orderBy``, ``totalResults``, ``onlyData``,
  ``fields``; answers carry ``items``, ``count``, ``hasMore``, ``limit``, ``offset``;
- create (``POST``, ``Upsert-Mode: true`` honoured), update (``PATCH``), get one item;
- batches (``application/vnd.oracle.adf.batch+json``) applied all-or-none: one bad part and
  nothing is applied; only the failed part is listed in the 400 answer;
- validation of payloads: unknown or read-only attributes, wrong types, over-long strings,
  missing required attributes, duplicate user keys; errors as text (framework versions 1-3) or
  the JSON error document ``application/vnd.oracle.adf.error+json`` (version 4 and later);
- basic auth and bearer tokens from the client-credentials grant.

The downtime and production-data resources (``plantDowntimeEvents``,
``plantProductionReports``) stand for a plant's own REST resources.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ROOT = "/fscmRestApi/resources/11.13.18.05"
TOKEN_PATH = "/oracle-idcs/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
COLLECTION_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
ERROR_TYPE = "application/vnd.oracle.adf.error+json"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
USERNAME = "plantsync.integration"
PASSWORD = "Sandbox-Oracle-1"  # noqa: S105 - a fake ERP's demo credentials
CLIENT_ID = "plantsync-sandbox-client"
CLIENT_SECRET = "sandbox-oracle-client-secret"  # noqa: S105
SCOPE = "urn:opc:resource:fa:instanceid=sandbox urn:opc:resource:consumer::all"
_EPOCH = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Attr:
    type: str  # integer | number | string | datetime | date | boolean
    read_only: bool = False
    required: bool = False
    max_len: int | None = None


def _s(n: int, required: bool = False) -> Attr:
    return Attr("string", max_len=n, required=required)


_COMMON = {
    "CreationDate": Attr("datetime", read_only=True),
    "LastUpdateDate": Attr("datetime", read_only=True),
}


@dataclass
class ResourceDef:
    key: str
    attrs: dict[str, Attr]
    unique: str | None = None  # a user key that must be unique
    entity: str | None = None  # the sandbox entity it dumps as


RESOURCES: dict[str, ResourceDef] = {
    "installedBaseAssets": ResourceDef(
        "AssetId",
        {
            "AssetId": Attr("integer", read_only=True),
            "AssetNumber": _s(80, True),
            "Description": _s(240),
            "ItemNumber": _s(300),
            "SerialNumber": _s(80),
            "AssetTag": _s(240),
            "OrganizationCode": _s(18),
            "WorkCenterCode": _s(30),
            "MaintainableFlag": Attr("boolean"),
            "ActiveEndDate": Attr("datetime"),
            **_COMMON,
        },
        unique="AssetNumber",
        entity="machine",
    ),
    "workOrders": ResourceDef(
        "WorkOrderId",
        {
            "WorkOrderId": Attr("integer", read_only=True),
            "WorkOrderNumber": _s(120),
            "OrganizationCode": _s(18, True),
            "ItemNumber": _s(300, True),
            "WorkOrderDescription": _s(240),
            "PlannedStartQuantity": Attr("number", required=True),
            "CompletedQuantity": Attr("number"),
            "ScrappedQuantity": Attr("number"),
            "WorkOrderStatusCode": _s(30),
            "WorkOrderPriority": Attr("number"),
            "PlannedStartDate": Attr("datetime"),
            "PlannedCompletionDate": Attr("datetime"),
            "ActualStartDate": Attr("datetime"),
            "ActualCompletionDate": Attr("datetime"),
            **_COMMON,
        },
        unique="WorkOrderNumber",
    ),
    "maintenanceWorkOrders": ResourceDef(
        "WorkOrderId",
        {
            "WorkOrderId": Attr("integer", read_only=True),
            "WorkOrderNumber": _s(120),
            "WorkOrderDescription": _s(240),
            "OrganizationCode": _s(18, True),
            "AssetId": Attr("integer"),
            "AssetNumber": _s(80),
            "WorkOrderTypeCode": _s(30),
            "WorkOrderSubTypeCode": _s(30),
            "WorkOrderStatusCode": _s(30),
            "WorkOrderPriority": Attr("number"),
            "PlannedStartDate": Attr("datetime"),
            "PlannedCompletionDate": Attr("datetime"),
            "ActualStartDate": Attr("datetime"),
            "ActualCompletionDate": Attr("datetime"),
            **_COMMON,
        },
        unique="WorkOrderNumber",
        entity="work_order",
    ),
    "plantDowntimeEvents": ResourceDef(
        "DowntimeEventId",
        {
            "DowntimeEventId": Attr("integer", read_only=True),
            "ExternalReference": _s(64),
            "AssetId": Attr("integer", required=True),
            "WorkOrderId": Attr("integer"),
            "StartDate": Attr("datetime", required=True),
            "EndDate": Attr("datetime"),
            "DurationMinutes": Attr("number"),
            "ReasonCode": _s(30),
            "PlannedFlag": Attr("boolean"),
            "FailureCode": _s(30),
            "CauseCode": _s(30),
            "SourceCode": _s(30),
            "Description": _s(240),
            "OrganizationCode": _s(18),
            **_COMMON,
        },
        unique="ExternalReference",
        entity="downtime",
    ),
    "plantProductionReports": ResourceDef(
        "ProductionReportId",
        {
            "ProductionReportId": Attr("integer", read_only=True),
            "ExternalReference": _s(64),
            "AssetId": Attr("integer"),
            "WorkOrderId": Attr("integer"),
            "OperationSequence": Attr("integer"),
            "StartDate": Attr("datetime", required=True),
            "EndDate": Attr("datetime"),
            "GoodQuantity": Attr("number", required=True),
            "ScrapQuantity": Attr("number"),
            "RunMinutes": Attr("number"),
            "DowntimeMinutes": Attr("number"),
            "FinalFlag": Attr("boolean"),
            "OrganizationCode": _s(18),
            **_COMMON,
        },
        unique="ExternalReference",
        entity="production_data",
    ),
}
ENTITY_RESOURCES = {d.entity: name for name, d in RESOURCES.items() if d.entity}


class OracleError(Exception):
    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> str:
    return _ts(datetime.now(UTC))


@dataclass
class _State:
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 300100000000000


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
        return [copy.deepcopy(rows[k]) for k in sorted(rows)]

    def reset(self, *, records: int) -> None:
        self.state = _State()
        rng = random.Random(self.seed)  # noqa: S311 - test data
        for name in RESOURCES:
            self.state.rows[name] = {}
        for i in range(records):
            for name, make in _GENERATORS.items():
                row = make(rng, i)
                row[RESOURCES[name].key] = self._new_id()
                stamp = _ts(_EPOCH + timedelta(minutes=7 * i + rng.randint(0, 6)))
                row["CreationDate"] = row["LastUpdateDate"] = stamp
                self.state.rows[name][row[RESOURCES[name].key]] = row

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def _new_id(self) -> int:
        self.state.next_id += 1
        return self.state.next_id

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

    async def _handle(self, request: Request, action: Any) -> Response:
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

    def _resource(self, name: str) -> ResourceDef:
        if name in self.forbidden_resources:
            raise OracleError(403, f"You don't have permission to access {name}.")
        if name not in RESOURCES or name in self.missing_resources:
            raise OracleError(404, f"The requested URL {ROOT}/{name} was not found on this server.")
        return RESOURCES[name]

    def _get_or_create(self, request: Request, version: int) -> Response:
        name = request.path_params["resource"]
        rdef = self._resource(name)
        if request.method == "GET":
            return JSONResponse(
                self._page(name, rdef, request, version), media_type=COLLECTION_TYPE
            )
        _check_type(request, (ITEM_TYPE, "application/json"))
        payload = _json_body(request)
        upsert = request.headers.get("upsert-mode", "").lower() == "true"
        rows = self.state.rows[name]
        row, created = self._write(name, rdef, rows, payload, None, upsert=upsert)
        return JSONResponse(row, status_code=201 if created else 200, media_type=ITEM_TYPE)

    def _get_or_update(self, request: Request, version: int) -> Response:
        name = request.path_params["resource"]
        rdef = self._resource(name)
        key = _int_key(request.path_params["key"])
        rows = self.state.rows[name]
        if key not in rows:
            raise OracleError(
                404, f"The requested resource {name}/{request.path_params['key']} was not found."
            )
        if request.method == "GET":
            return JSONResponse(rows[key], media_type=ITEM_TYPE)
        _check_type(request, (ITEM_TYPE, "application/json"))
        row, _ = self._write(name, rdef, rows, _json_body(request), key)
        return JSONResponse(row, media_type=ITEM_TYPE)

    def _run_batch(self, request: Request, version: int) -> Response:
        _check_type(request, (BATCH_TYPE,))
        body = _json_body(request)
        parts = body.get("parts")
        if not isinstance(parts, list) or not parts:
            raise OracleError(400, "The batch request has no parts.")
        work = copy.deepcopy(self.state)  # all-or-none: apply to a copy, keep it only if all pass
        answers = []
        for part in parts:
            try:
                answers.append({**part, "payload": self._part(work, part)})
            except OracleError as err:
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
        self.state = work
        return JSONResponse({"parts": answers}, media_type=BATCH_TYPE)

    def _part(self, state: _State, part: Any) -> dict[str, Any]:
        if not isinstance(part, dict) or not isinstance(part.get("path"), str):
            raise OracleError(400, "A batch part needs id, path and operation.")
        segments = [s for s in part["path"].split("/") if s]
        name = segments[0] if segments else ""
        rdef = self._resource(name)
        rows = state.rows[name]
        op = part.get("operation")
        payload = part.get("payload") or {}
        if op in ("create", "upsert") and len(segments) == 1:
            return self._write(name, rdef, rows, payload, None, upsert=op == "upsert", state=state)[
                0
            ]
        if op == "update" and len(segments) == 2:
            key = _int_key(segments[1])
            if key not in rows:
                raise OracleError(404, f"The requested resource {part['path']} was not found.")
            return self._write(name, rdef, rows, payload, key, state=state)[0]
        if op == "get" and len(segments) == 2 and _int_key(segments[1]) in rows:
            return rows[_int_key(segments[1])]
        raise OracleError(400, f"The operation {op!r} on {part['path']} is not supported.")

    # -- writes and validation -----------------------------------------------------------

    def _write(
        self,
        name: str,
        rdef: ResourceDef,
        rows: dict[int, dict[str, Any]],
        payload: Any,
        key: int | None,
        *,
        upsert: bool = False,
        state: _State | None = None,
    ) -> tuple[dict[str, Any], bool]:
        if not isinstance(payload, dict):
            raise OracleError(400, "The request payload must be a JSON object.")
        if upsert and key is None and rdef.unique and payload.get(rdef.unique) is not None:
            key = next(
                (k for k, r in rows.items() if r.get(rdef.unique) == payload[rdef.unique]), None
            )
        values = _validate(name, rdef, payload, creating=key is None)
        if rdef.unique and values.get(rdef.unique) is not None:
            clash = [
                k for k, r in rows.items() if r.get(rdef.unique) == values[rdef.unique] and k != key
            ]
            if clash:
                raise OracleError(
                    400,
                    f"The value {values[rdef.unique]} of {rdef.unique} already exists in {name}.",
                    "JBO-27108",
                )
        now = _now()
        if key is not None:
            rows[key].update(values)
            rows[key]["LastUpdateDate"] = now
            return rows[key], False
        st = state or self.state
        st.next_id += 1
        row = {a: None for a in rdef.attrs} | values
        row[rdef.key] = st.next_id
        row["CreationDate"] = row["LastUpdateDate"] = now
        rows[st.next_id] = row
        return row, True

    # -- queries -------------------------------------------------------------------------

    def _page(self, name: str, rdef: ResourceDef, request: Request, version: int) -> dict[str, Any]:
        params = request.query_params
        limit = min(_int_param(params, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        offset = _int_param(params, "offset", 0)
        rows = list(self.state.rows[name].values())
        if params.get("q"):
            conditions = _parse_q(params["q"], version)
            rows = [r for r in rows if all(_match(rdef, r, c) for c in conditions)]
        rows = _order(rdef, rows, params.get("orderBy"))
        window = rows[offset : offset + limit]
        only_data = params.get("onlyData", "false").lower() == "true"
        fields = [f for f in params.get("fields", "").split(",") if f]
        for f in fields:
            if f not in rdef.attrs:
                raise OracleError(
                    400, f"The attribute {f} in the fields parameter is not found in {name}."
                )
        items = [
            self._shape(name, rdef, r, fields, only_data, str(request.base_url)) for r in window
        ]
        body: dict[str, Any] = {
            "items": items,
            "count": len(items),
            "hasMore": offset + len(items) < len(rows),
            "limit": limit,
            "offset": offset,
        }
        if params.get("totalResults", "false").lower() == "true":
            body["totalResults"] = len(rows)
        if not only_data:
            body["links"] = [
                {"rel": "self", "href": str(request.url), "name": name, "kind": "collection"}
            ]
        return body

    @staticmethod
    def _shape(
        name: str,
        rdef: ResourceDef,
        row: dict[str, Any],
        fields: list[str],
        only_data: bool,
        base: str,
    ) -> dict[str, Any]:
        item = {f: row.get(f) for f in fields} if fields else dict(row)
        if not only_data:
            href = f"{base.rstrip('/')}{ROOT}/{name}/{row[rdef.key]}"
            item["links"] = [{"rel": "self", "href": href, "name": name, "kind": "item"}]
        return item


# -- payload validation --------------------------------------------------------------------


def _validate(
    name: str, rdef: ResourceDef, payload: dict[str, Any], *, creating: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, value in payload.items():
        spec = rdef.attrs.get(attr)
        if spec is None:
            raise OracleError(
                400, f"The attribute {attr} is not found in resource {name}.", "JBO-27021"
            )
        if spec.read_only:
            raise OracleError(
                400,
                f"Attempt to set a value for the read-only attribute {attr} of {name}.",
                "JBO-27008",
            )
        out[attr] = _typed(attr, spec, value)
    if creating:
        missing = [a for a, s in rdef.attrs.items() if s.required and out.get(a) is None]
        if missing:
            raise OracleError(400, f"Attribute {missing[0]} in {name} is required.", "JBO-27014")
    return out


def _typed(attr: str, spec: Attr, value: Any) -> Any:
    if value is None:
        return None
    bad = OracleError(
        400, f"The value {value!r} of attribute {attr} is not a valid {spec.type}.", "JBO-27018"
    )
    if spec.type == "string":
        if not isinstance(value, str):
            raise bad
        if spec.max_len and len(value) > spec.max_len:
            raise OracleError(
                400,
                f"The value of attribute {attr} exceeds the maximum length {spec.max_len}.",
                "JBO-27010",
            )
        return value
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise bad
        return value
    if spec.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if spec.type == "integer" and value != int(value):
            raise bad
        return value
    if not isinstance(value, str):
        raise bad
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad from None
    if spec.type == "date":
        return parsed.date().isoformat()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _ts(parsed)


# -- q, orderBy ----------------------------------------------------------------------------

_QBE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$")
_EXPR_SPLIT = re.compile(r"\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)


def _parse_q(q: str, version: int) -> list[tuple[str, str, str]]:
    """``[(field, op, literal)]`` from ``q``: QBE under version 1, expressions from 2."""
    clauses = q.split(";") if version < 2 else _EXPR_SPLIT.split(q)
    out = []
    for clause in clauses:
        m = _QBE.match(clause)
        if not m:
            raise OracleError(
                400, f"The query {q!r} is not valid for REST framework version {version}."
            )
        field_name, op, literal = m.groups()
        quoted = literal.startswith("'") and literal.endswith("'") and len(literal) > 1
        if (
            version >= 2
            and not quoted
            and not re.fullmatch(r"-?\d+(\.\d+)?|true|false|null", literal)
        ):
            raise OracleError(
                400, f"The query {q!r} is not a valid expression: quote the value {literal!r}."
            )
        out.append((field_name, op, _unquote(literal)))
    return out


def _unquote(literal: str) -> str:
    if len(literal) > 1 and literal.startswith("'") and literal.endswith("'"):
        return literal[1:-1].replace("''", "'")
    return literal


def _match(rdef: ResourceDef, row: dict[str, Any], cond: tuple[str, str, str]) -> bool:
    field_name, op, literal = cond
    spec = rdef.attrs.get(field_name)
    if spec is None:
        raise OracleError(
            400, f"The attribute {field_name} in the query is not found.", "JBO-27021"
        )
    value = row.get(field_name)
    if value is None:
        return op == "!=" if literal != "null" else op == "="
    try:
        left, right = _comparable(spec, value), _comparable(spec, literal)
    except (ValueError, InvalidOperation):
        raise OracleError(
            400, f"The value {literal!r} in the query is not a valid {spec.type}."
        ) from None
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def _comparable(spec: Attr, value: Any) -> Any:
    if spec.type in ("integer", "number"):
        return Decimal(str(value))
    if spec.type in ("datetime", "date"):
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if spec.type == "boolean":
        return str(value).lower() == "true"
    return str(value)


def _order(
    rdef: ResourceDef, rows: list[dict[str, Any]], order_by: str | None
) -> list[dict[str, Any]]:
    terms = [t for t in (order_by or rdef.key).split(",") if t]
    for term in reversed(terms):
        field_name, _, direction = term.partition(":")
        spec = rdef.attrs.get(field_name)
        if spec is None:
            raise OracleError(
                400, f"The attribute {field_name} in orderBy is not found.", "JBO-27021"
            )
        present = [r for r in rows if r.get(field_name) is not None]
        nulls = [r for r in rows if r.get(field_name) is None]
        present.sort(
            key=lambda r: _comparable(spec, r[field_name]), reverse=direction.lower() == "desc"
        )
        rows = present + nulls
    return rows


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


def _int_param(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise OracleError(
            400, f"The value {raw!r} of the {name} parameter is not a number."
        ) from None
    if value < 0:
        raise OracleError(400, f"The {name} parameter must not be negative.")
    return value


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


# -- generated data ------------------------------------------------------------------------

_ORGS = ("M1", "M2", "SEA")
_KINDS = ("CNC-MILL", "PRESS-200T", "LATHE", "ROBOT-WELD", "PACKER")
_STATUSES = ("ORA_RELEASED", "ORA_UNRELEASED", "ORA_COMPLETED", "ORA_CLOSED")


def _asset(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.choice(_KINDS)
    return {
        "AssetNumber": f"AST-{10000 + i}",
        "Description": f"{kind.title()} {i + 1}",
        "ItemNumber": kind,
        "SerialNumber": f"SN{rng.randint(100000, 999999)}",
        "AssetTag": None,
        "OrganizationCode": rng.choice(_ORGS),
        "WorkCenterCode": f"WC-{rng.randint(1, 9)}",
        "MaintainableFlag": True,
        "ActiveEndDate": None,
    }


def _asset_id(i: int) -> int:
    """The id ``reset`` gives the i-th asset (ids are handed out resource by resource)."""
    return _State.next_id + 1 + len(_GENERATORS) * i


def _dates(rng: random.Random, i: int) -> tuple[str, str]:
    start = _EPOCH + timedelta(days=i % 60, hours=rng.randint(0, 16))
    return _ts(start), _ts(start + timedelta(hours=rng.randint(1, 48)))


def _work_order(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    planned = rng.randint(10, 500)
    return {
        "WorkOrderNumber": f"WO-{200000 + i}",
        "OrganizationCode": rng.choice(_ORGS),
        "ItemNumber": f"FG-{rng.randint(1000, 9999)}",
        "WorkOrderDescription": f"Production run {i + 1}",
        "PlannedStartQuantity": planned,
        "CompletedQuantity": rng.randint(0, planned),
        "ScrappedQuantity": rng.randint(0, 5),
        "WorkOrderStatusCode": rng.choice(_STATUSES),
        "WorkOrderPriority": rng.randint(1, 4),
        "PlannedStartDate": start,
        "PlannedCompletionDate": end,
        "ActualStartDate": None,
        "ActualCompletionDate": None,
    }


def _maintenance(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "WorkOrderNumber": f"MWO-{300000 + i}",
        "WorkOrderDescription": f"Inspect spindle {i + 1}",
        "OrganizationCode": rng.choice(_ORGS),
        "AssetId": _asset_id(i),
        "AssetNumber": f"AST-{10000 + i}",
        "WorkOrderTypeCode": "ORA_CORRECTIVE",
        "WorkOrderSubTypeCode": None,
        "WorkOrderStatusCode": rng.choice(_STATUSES),
        "WorkOrderPriority": rng.randint(1, 4),
        "PlannedStartDate": start,
        "PlannedCompletionDate": end,
        "ActualStartDate": None,
        "ActualCompletionDate": None,
    }


def _downtime(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "ExternalReference": None,
        "AssetId": _asset_id(i),
        "WorkOrderId": None,
        "StartDate": start,
        "EndDate": end,
        "DurationMinutes": rng.randint(5, 240),
        "ReasonCode": rng.choice(("JAM", "TOOL", "MAT")),
        "PlannedFlag": rng.random() < 0.3,
        "FailureCode": None,
        "CauseCode": None,
        "SourceCode": "ORA_MANUAL",
        "Description": f"Stop {i + 1}",
        "OrganizationCode": rng.choice(_ORGS),
    }


def _production(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "ExternalReference": None,
        "AssetId": None,
        "WorkOrderId": None,
        "OperationSequence": 10,
        "StartDate": start,
        "EndDate": end,
        "GoodQuantity": rng.randint(10, 400),
        "ScrapQuantity": rng.randint(0, 8),
        "RunMinutes": rng.randint(30, 480),
        "DowntimeMinutes": rng.randint(0, 30),
        "FinalFlag": False,
        "OrganizationCode": rng.choice(_ORGS),
    }


_GENERATORS = {
    "installedBaseAssets": _asset,
    "workOrders": _work_order,
    "maintenanceWorkOrders": _maintenance,
    "plantDowntimeEvents": _downtime,
    "plantProductionReports": _production,
}
