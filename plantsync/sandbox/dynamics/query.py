"""Dataverse queries for the sandbox, computed from the request's own query.

``$select``, ``$filter`` (``eq ne gt ge lt le`` joined by ``and``), ``$top``;
``Prefer: odata.maxpagesize`` pages with a ``$skiptoken`` cookie carrying the last key (so
rows added or removed while a client pages neither repeat nor vanish), and change tracking:
``odata.track-changes`` adds an ``@odata.deltaLink`` to the last page; a ``$deltatoken``
request returns rows changed since, and deleted rows as ``$deletedEntity``.
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from plantsync.sandbox.dynamics.schema import (
    OPTION_LABELS,
    SYSTEM_COLUMNS,
    DataverseFault,
    Table,
    parse_iso,
)
from plantsync.sandbox.dynamics.store import CATEGORIES, Store
from plantsync.sandbox.table import Row, View

API = "/api/data/v9.2/"
FORMATTED = "OData.Community.Display.V1.FormattedValue"
_COND = re.compile(r"^\s*([A-Za-z0-9_]+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*$")
_COOKIE = re.compile(r'(\w+)="([^"]*)"')
_CATEGORY_NAMES = {str(v): k for k, v in CATEGORIES.items()}


def render_collection(
    store: Store, name: str, origin: str, params: dict[str, str], prefer: str
) -> dict[str, Any]:
    """One page of a collection (or of its changes), with its next/delta link."""
    table = store.table(name)
    select = _select(table, params.get("$select"))
    cookie = _cookie(params.get("$skiptoken"))
    page_size = _max_page_size(prefer)
    if "$deltatoken" in params:
        since = _delta_version(store, table, params["$deltatoken"])
        keys = _changed(table, since)
        deleted = sorted(k for k, v in store.tombstones[name].items() if v > since)
        tracking, context = True, f"{name}/$delta"
    else:
        keys, deleted = _filtered(table, params.get("$filter")), []
        tracking = "odata.track-changes" in prefer and table.change_tracking
        context = name if not select else f"{name}({','.join(select)})"
    version = int(cookie.get("version") or store.version)
    top = params.get("$top")
    wanted = _int(top, "$top") if top is not None else page_size + 1
    items = _after(table, keys, deleted, cookie.get("last") or "", wanted)
    more = False
    if top is None and len(items) > page_size:
        items, more = items[:page_size], True
    body: dict[str, Any] = {"@odata.context": f"{origin}{API}$metadata#{context}"}
    body["value"] = [
        render_row(store, name, row, origin, params, prefer, context=False)
        if row is not None
        else {
            "@odata.context": f"{origin}{API}$metadata#{name}/$deletedEntity",
            "id": key,
            "reason": "deleted",
        }
        for key, row in items
    ]
    base = {k: v for k, v in params.items() if k not in ("$skiptoken",)}
    if more:
        token = f'<cookie pagenumber="{int(cookie.get("pagenumber") or 1) + 1}" last="{items[-1][0]}" version="{version}" />'
        body["@odata.nextLink"] = _link(origin, name, {**base, "$skiptoken": token})
    elif tracking:
        stamp = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
        delta = {k: v for k, v in base.items() if k in ("$select",)}
        body["@odata.deltaLink"] = _link(
            origin, name, {**delta, "$deltatoken": f"{version}!{stamp}"}
        )
    return body


def render_row(
    store: Store,
    name: str,
    row: dict[str, Any],
    origin: str,
    params: dict[str, str],
    prefer: str,
    *,
    context: bool,
) -> dict[str, Any]:
    """A row as Dataverse returns it: etag, selected columns, formatted values if asked."""
    table = store.table(name)
    select = _select(table, params.get("$select")) or list(row)
    out: dict[str, Any] = {}
    if context:
        out["@odata.context"] = f"{origin}{API}$metadata#{name}/$entity"
    out["@odata.etag"] = f'W/"{row.get("versionnumber", 0)}"'
    annotate = FORMATTED in prefer or 'include-annotations="*"' in prefer
    for column in dict.fromkeys([table.key, *select]):
        value = row.get(column)
        out[column] = value
        if annotate and value is not None:
            label = _formatted(store, table, column, value)
            if label is not None:
                out[f"{column}@{FORMATTED}"] = label
    return out


def _formatted(store: Store, table: Table, column: str, value: Any) -> str | None:
    if column.startswith("_") and column.endswith("_value"):
        spec = table.columns.get(column[1:-6])
        if spec is None:
            return None
        if spec.target == "msdyn_customerassetcategories":
            return _CATEGORY_NAMES.get(str(value))
        target = store.tables.get(spec.target)
        row = target.rows.get(str(value)) if target else None
        return str(row.get(target.name_column)) if row and target else None
    spec = table.columns.get(column)
    if spec is not None and spec.kind == "option":
        return OPTION_LABELS.get(value)
    return None


def _select(table: Table, text: str | None) -> list[str]:
    if not text:
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if not _selectable(table, n):
            raise _no_property(table, n)
    return names


def _selectable(table: Table, column: str) -> bool:
    if column.startswith("_") and column.endswith("_value"):
        spec = table.columns.get(column[1:-6])
        return spec is not None and spec.kind == "lookup"
    spec = table.columns.get(column)
    return (spec is not None and spec.kind != "lookup") or column in (table.key, *SYSTEM_COLUMNS)


def _no_property(table: Table, column: str) -> DataverseFault:
    return DataverseFault(
        400,
        "0x80060888",
        f"Could not find a property named '{column}' on type 'Microsoft.Dynamics.CRM.{table.logical}'.",
    )


def _filtered(table: Table, text: str | None) -> list[str]:
    """The keys of the rows ``$filter`` keeps, in key order (a view of the table kept
    sorted across requests and writes)."""
    conditions = _conditions(table, text)

    def keep(row: dict[str, Any]) -> bool:
        return all(_holds(row.get(c), op, v) for c, op, v in conditions)

    return _keys(table, ("filter", text or ""), keep)


def _changed(table: Table, since: int) -> list[str]:
    """The keys of the rows changed after version ``since``, in key order."""
    return _keys(table, ("changed", since), lambda row: row["versionnumber"] > since)


def _keys(table: Table, query: tuple[str, Any], keep: Callable[[Row], bool]) -> list[str]:
    def build() -> View[str]:
        return View(table.rows, keep=keep, entry=lambda key, _row: key, key_of=lambda k: k)

    return table.rows.view(query, build).entries


def _after(
    table: Table, keys: list[str], deleted: list[str], last: str, wanted: int
) -> list[tuple[str, dict[str, Any] | None]]:
    """Up to ``wanted`` (key, row) after key ``last`` in key order: the rows of ``keys``, and
    the ``deleted`` keys as (key, None) where they are not among those rows."""
    rows = table.rows
    start = bisect.bisect_right(keys, last) if last else 0
    chosen = keys[start : start + wanted]
    if not deleted:
        return [(k, rows[k]) for k in chosen]
    gone = deleted[bisect.bisect_right(deleted, last) :] if last else deleted
    live = set(chosen)
    merged = sorted(live.union(gone[:wanted]))[:wanted]
    return [(k, rows[k] if k in live else None) for k in merged]


def _conditions(table: Table, text: str | None) -> list[tuple[str, str, Any]]:
    """``[(column, operator, value)]`` of a ``$filter`` (conditions joined by ``and``)."""
    if not text:
        return []
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _COND.match(part)
        if match is None:
            raise DataverseFault(400, "0x80060888", f"Syntax error in $filter at '{part}'.")
        column, op, literal = match.groups()
        if not _selectable(table, column):
            raise _no_property(table, column)
        conditions.append((column, op, _literal(literal)))
    return conditions


def _literal(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[text]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        try:
            return parse_iso(text)
        except ValueError:
            pass
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        raise DataverseFault(
            400, "0x80060888", f"Unrecognized literal {text} in $filter."
        ) from None


def _holds(value: Any, op: str, literal: Any) -> bool:
    if isinstance(literal, datetime) and isinstance(value, str):
        value = parse_iso(value)
    if op == "eq":
        return bool(value == literal)
    if op == "ne":
        return bool(value != literal)
    if value is None or literal is None:
        return False
    try:
        return bool(
            {
                "gt": value > literal,
                "ge": value >= literal,
                "lt": value < literal,
                "le": value <= literal,
            }[op]
        )
    except TypeError:
        return False


def _delta_version(store: Store, table: Table, token: str) -> int:
    if not table.change_tracking:
        raise DataverseFault(
            400, "0x80072491", f"Change tracking is not enabled for the entity '{table.logical}'."
        )
    try:
        version = int(token.split("!", 1)[0])
    except ValueError:
        raise DataverseFault(400, "0x80044352", "The delta token is not valid.") from None
    if version < store.min_delta_version:
        raise DataverseFault(
            400,
            "0x80044352",
            "Version stamp associated with the client has expired. Please perform a full sync.",
        )
    return version


def _max_page_size(prefer: str) -> int:
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    return max(1, min(5000, int(match.group(1)))) if match else 5000


def _cookie(token: str | None) -> dict[str, str]:
    return dict(_COOKIE.findall(token)) if token else {}


def _int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DataverseFault(400, "0x80060888", f"Invalid value for {name}: {text}.") from None
    if value < 0:
        raise DataverseFault(400, "0x80060888", f"Invalid value for {name}: {text}.")
    return value


def _link(origin: str, name: str, query: dict[str, str]) -> str:
    return f"{origin}{API}{name}?" + urlencode(query, quote_via=quote, safe="$,'!")
