"""OData V2 query options for the SAP sandbox: ``$filter``, ``$orderby``, paging.

Pages are computed from the request's own query, as SAP Gateway does: ``$skip``/``$top`` from
the client, and server-driven paging (``__next`` carrying ``$skiptoken``) whenever a page
would exceed the server's page size.

The ``$filter`` grammar covers what integrations send: comparisons (``eq ne gt ge lt le``)
of a property with a literal (``'text'``, ``datetime'...'``, ``datetimeoffset'...'``,
``guid'...'``, ``time'...'``, numbers, ``true``/``false``/``null``), ``and``/``or``/``not``,
parentheses, and ``substringof``/``startswith``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

from plantsync.connectors.sap.values import SapValueError, parse_datetime, parse_time

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Condition = tuple[str, str, Any]  # (property, "eq" | "ne", literal)
# A filter as an OR of terms, each an AND of conditions; None: it is not of that shape.
Terms = list[tuple[Condition, ...]] | None
_Node = tuple[Predicate, Terms]

_TOKEN = re.compile(
    r"\s*(?:(?P<typed>(?:datetimeoffset|datetime|guid|time)'[^']*')"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[MmLlDdFf]?)"
    r"|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/.]*))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class QueryError(ValueError):
    """The query option is invalid (the sandbox answers 400 with this message)."""


class Filter(NamedTuple):
    """A parsed ``$filter``: the predicate over rows, and the filter as ``terms`` when it
    is an OR of ANDs of ``eq``/``ne`` comparisons (what an index can answer)."""

    predicate: Predicate
    terms: Terms


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"invalid $filter near {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "num":
        return Decimal(text.rstrip("MmLlDdFf"))
    prefix, _, rest = text.partition("'")
    value = rest[:-1]
    try:
        if prefix in ("datetime", "datetimeoffset"):
            return parse_datetime(value)
        if prefix == "time":
            return parse_time(value)
    except SapValueError as exc:
        raise QueryError(str(exc)) from None
    return value.lower()  # guid


class _Parser:
    def __init__(self, text: str, fields: Sequence[str]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.fields = set(fields)

    def parse(self) -> Filter:
        pred, terms = self._or()
        if self.pos != len(self.tokens):
            raise QueryError(f"unexpected {self.tokens[self.pos][1]!r} in $filter")
        return Filter(pred, terms)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise QueryError("$filter ends too early")
        self.pos += 1
        return token

    def _or(self) -> _Node:
        left, terms = self._and()
        while self._peek() == ("word", "or"):
            self.pos += 1
            right, more = self._and()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
            terms = terms + more if terms is not None and more is not None else None
        return left, terms

    def _and(self) -> _Node:
        left, terms = self._unary()
        while self._peek() == ("word", "and"):
            self.pos += 1
            right, more = self._unary()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
            single = terms is not None and more is not None and len(terms) == len(more) == 1
            terms = [terms[0] + more[0]] if single and terms and more else None
        return left, terms

    def _unary(self) -> _Node:
        token = self._peek()
        if token == ("word", "not"):
            self.pos += 1
            inner, _ = self._unary()
            return (lambda r: not inner(r)), None
        if token == ("punct", "("):
            self.pos += 1
            node = self._or()
            self._expect(")")
            return node
        if token and token[0] == "word" and token[1] in ("substringof", "startswith"):
            return self._function(), None
        return self._comparison()

    def _expect(self, punct: str) -> None:
        if self._next() != ("punct", punct):
            raise QueryError(f"expected {punct!r} in $filter")

    def _field(self) -> str:
        kind, name = self._next()
        if kind != "word" or name not in self.fields:
            raise QueryError(f"property {name!r} is not known")
        return name

    def _value(self) -> Any:
        kind, text = self._next()
        if kind == "word":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            raise QueryError(f"invalid literal {text!r}")
        return _literal(kind, text)

    def _function(self) -> Predicate:
        name = self._next()[1]
        self._expect("(")
        if name == "substringof":
            needle = self._value()
            self._expect(",")
            field = self._field()
        else:
            field = self._field()
            self._expect(",")
            needle = self._value()
        self._expect(")")
        if name == "substringof":
            return lambda r: str(needle).lower() in str(r.get(field) or "").lower()
        return lambda r: str(r.get(field) or "").startswith(str(needle))

    def _comparison(self) -> _Node:
        field = self._field()
        kind, op = self._next()
        if kind != "word" or op not in _OPS:
            raise QueryError(f"expected a comparison after {field}, got {op!r}")
        value = self._value()
        terms: Terms = [((field, op, value),)] if op in ("eq", "ne") else None
        return (lambda r: compare(r.get(field), op, value)), terms


def compare(left: Any, op: str, right: Any) -> bool:
    """``left op right`` with OData's null rules (null equals only null)."""
    if left is None or right is None:
        return (left is right) if op == "eq" else (left is not right) if op == "ne" else False
    left, right = comparable(left), comparable(right)
    try:
        return bool(
            {
                "eq": left == right,
                "ne": left != right,
                "gt": left > right,
                "ge": left >= right,
                "lt": left < right,
                "le": left <= right,
            }[op]
        )
    except TypeError:
        raise QueryError(f"cannot compare {left!r} with {right!r}") from None


def comparable(value: Any) -> Any:
    """``value`` as ``compare`` compares it: numbers as Decimals, GUID-like text in lower case
    (``comparable(a) == comparable(b)`` is ``a eq b`` for values that are not null)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F-]{36}", value):
        return value.lower()
    return value


def parse_filter(text: str | None, fields: Sequence[str]) -> Predicate:
    """A predicate over rows for a ``$filter`` (all rows when absent)."""
    return parse(text, fields).predicate


def parse(text: str | None, fields: Sequence[str]) -> Filter:
    """A ``$filter`` parsed (keeps all rows when absent; no ``terms`` then).

    Raises:
        QueryError: the filter is invalid or names an unknown property.
    """
    if not text or not text.strip():
        return Filter(lambda _r: True, None)
    return _Parser(text, fields).parse()


def order_specs(orderby: str | None, key: Sequence[str]) -> list[tuple[str, bool]]:
    """``[(property, descending)]``: ``$orderby``'s, then the key's not named there."""
    specs = [(k, False) for k in key]
    if orderby:
        parsed = []
        for part in orderby.split(","):
            name, _, direction = part.strip().partition(" ")
            parsed.append((name, direction.strip().lower() == "desc"))
        specs = parsed + [s for s in specs if s[0] not in {p[0] for p in parsed}]
    return specs


def order_entry(specs: Sequence[tuple[str, bool]]) -> Callable[[Row], tuple[Any, ...]]:
    """A row's place in the order of ``specs`` as one tuple: by each property in turn, nulls
    first (last when descending); the caller ends it with the row's insertion sequence, so
    ties keep insertion order, as stable sorts by each property would."""

    def entry(row: Row) -> tuple[Any, ...]:
        out: list[Any] = []
        for name, desc in specs:
            tag, value = _sort_key(row.get(name))
            out += (-tag, _descending(value)) if desc else (tag, value)
        return tuple(out)

    return entry


class _Reversed:
    """A string that sorts in reverse."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.text == other.text

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text

    def __gt__(self, other: _Reversed) -> bool:
        return self.text < other.text

    __hash__ = None  # type: ignore[assignment]


def _descending(value: Any) -> Any:
    return _Reversed(value) if isinstance(value, str) else -value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (2, Decimal(str(value)))
    return (3, str(value))


def page(
    rows: Sequence[Row],
    query: Mapping[str, str],
    *,
    server_page: int,
    next_base: str,
) -> tuple[Sequence[Row], str | None]:
    """The rows of this request's page and the ``__next`` link (None on the last page)."""
    try:
        skip = int(query.get("$skiptoken") or query.get("$skip") or 0)
        top = int(query["$top"]) if "$top" in query else None
    except ValueError:
        raise QueryError("$skip, $skiptoken and $top must be whole numbers") from None
    if skip < 0 or (top is not None and top < 0):
        raise QueryError("$skip and $top must not be negative")
    wanted = len(rows) - skip if top is None else min(top, len(rows) - skip)
    size = max(0, min(wanted, server_page))
    chunk = rows[skip : skip + size]
    if size >= wanted or skip + size >= len(rows):
        return chunk, None
    params = {k: v for k, v in query.items() if k not in ("$skip", "$skiptoken", "$top")}
    if top is not None:
        params["$top"] = str(top - size)
    params["$skiptoken"] = str(skip + size)
    return chunk, f"{next_base}?{urlencode(params)}"
