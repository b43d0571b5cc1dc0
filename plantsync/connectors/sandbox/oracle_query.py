"""ADF REST collection queries for the Oracle sandbox, computed from the request's own query.

``limit`` (25 when absent, at most 500), ``offset``, ``q`` (query-by-example under
``REST-Framework-Version`` 1, the default; expressions joined by ``and`` from version 2),
``orderBy``, ``totalResults``, ``onlyData`` and ``fields``; answers carry ``items``,
``count``, ``hasMore``, ``limit``, ``offset``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plantsync.connectors.sandbox.oracle_store import (
    RESOURCES,
    Attr,
    OracleError,
    ResourceDef,
    State,
)

ROOT = "/fscmRestApi/resources/11.13.18.05"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500


def page(
    state: State,
    name: str,
    *,
    params: Mapping[str, str],
    version: int,
    base_url: str,
    self_url: str,
) -> dict[str, Any]:
    """One collection page of resource ``name`` as the query ``params`` ask for it.

    Raises:
        OracleError: a parameter, query, ordering or field name is not valid.
    """
    rdef = RESOURCES[name]
    limit = min(int_param(params, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    offset = int_param(params, "offset", 0)
    rows = _select(rdef, list(state.rows[name].values()), params.get("q"), version)
    rows = _order(rdef, rows, params.get("orderBy"))
    only_data = params.get("onlyData", "false").lower() == "true"
    fields = _fields(name, rdef, params.get("fields", ""))
    window = rows[offset : offset + limit]
    items = [_shape(name, rdef, r, fields, only_data, base_url) for r in window]
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
        body["links"] = [{"rel": "self", "href": self_url, "name": name, "kind": "collection"}]
    return body


def int_param(params: Mapping[str, str], name: str, default: int) -> int:
    """The non-negative integer query parameter ``name`` (``default`` when absent)."""
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


def _select(
    rdef: ResourceDef, rows: list[dict[str, Any]], q: str | None, version: int
) -> list[dict[str, Any]]:
    if not q:
        return rows
    conditions = _parse_q(q, version)
    return [r for r in rows if all(_match(rdef, r, c) for c in conditions)]


def _fields(name: str, rdef: ResourceDef, raw: str) -> list[str]:
    fields = [f for f in raw.split(",") if f]
    for f in fields:
        if f not in rdef.attrs:
            raise OracleError(
                400, f"The attribute {f} in the fields parameter is not found in {name}."
            )
    return fields


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
