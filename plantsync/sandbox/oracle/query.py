"""ADF REST collection queries for the Oracle sandbox, computed from the request's own query.

``limit`` (25 when absent, at most 500), ``offset``, ``q`` (query-by-example under
``REST-Framework-Version`` 1, the default; expressions joined by ``and`` from version 2),
``orderBy``, ``totalResults``, ``onlyData`` and ``fields``; answers carry ``items``,
``count``, ``hasMore``, ``limit``, ``offset``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from plantsync.sandbox.oracle.store import (
    RESOURCES,
    Attr,
    OracleError,
    ResourceDef,
    State,
)
from plantsync.sandbox.table import Row, Rows, View

ROOT = "/fscmRestApi/resources/11.13.18.05"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
    rows = _collection(state.rows[name], rdef, params.get("q"), version, params.get("orderBy"))
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


def _collection(
    table: Rows[int], rdef: ResourceDef, q: str | None, version: int, order_by: str | None
) -> Sequence[dict[str, Any]]:
    """The rows ``q`` selects in ``orderBy`` order: a view of the table kept sorted across
    requests (and writes), so a page costs its own size, not the collection's."""
    conditions = _parse_q(q, version) if q else []
    terms = _terms(order_by or rdef.key)
    specs = [rdef.attrs.get(field_name) for field_name, _ in terms]
    if any(spec is None for spec in specs):
        # Refused: computed as below, so the query's errors come first, as Oracle's do.
        return _order(rdef, _select(rdef, list(table.values()), q, version), order_by)
    parts = [(f, desc, spec) for (f, desc), spec in zip(terms, specs, strict=True) if spec]

    def keep(row: dict[str, Any]) -> bool:
        return all(_match(rdef, row, c) for c in conditions)

    def entry(key: int, row: Row) -> tuple[Any, ...]:
        out: list[Any] = []
        for field_name, desc, spec in parts:
            value = row.get(field_name)
            out += (1, 0) if value is None else (0, _sortable(spec, value, desc))
        return (*out, row.seq, key)

    query = (tuple(conditions), tuple(terms))
    view = table.view(query, lambda: View(table, keep=keep, entry=entry, key_of=_last))
    return view.as_sequence()


def _last(entry: tuple[Any, ...]) -> int:
    return int(entry[-1])


def _terms(order_by: str) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` of an ``orderBy`` (``Field[:asc|:desc],...``)."""
    terms = []
    for term in order_by.split(","):
        if term:
            field_name, _, direction = term.partition(":")
            terms.append((field_name, direction.lower() == "desc"))
    return terms


def _sortable(spec: Attr, value: Any, desc: bool) -> Any:
    """A value's place in an ordering: ``_comparable``'s order, in a compact form, reversed
    for a descending term (ties then keep insertion order, as a stable sort does)."""
    if spec.type in ("integer", "number") and type(value) is int:
        key: Any = value  # an int orders exactly as its Decimal
    else:
        key = _comparable(spec, value)
        if isinstance(key, datetime):
            key = (key - _EPOCH) // _MICROSECOND
    if not desc:
        return key
    return _Descending(key) if isinstance(key, str) else -key


class _Descending:
    """A string that sorts in reverse."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.text == other.text

    def __lt__(self, other: _Descending) -> bool:
        return self.text > other.text

    def __gt__(self, other: _Descending) -> bool:
        return self.text < other.text

    __hash__ = None  # type: ignore[assignment]


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
    return bool(
        {
            "=": left == right,
            "!=": left != right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[op]
    )


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
