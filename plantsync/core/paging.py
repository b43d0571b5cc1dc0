"""Keyset (cursor) pagination and the one list shape: ``{"items": [...], "next_cursor": ...}``.

A cursor is an opaque, URL-safe string holding the sort values of the last row of a page.
Lists sort by a stable key that ends in the row id, so pages never skip or repeat rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from plantsync.errors import ValidationError

T = TypeVar("T")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        if isinstance(v, UUID):
            return {"u": str(v)}
        return v

    raw = json.dumps([conv(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort values inside ``cursor``; a ``ValidationError`` on field ``cursor`` if bad."""

    def conv(v: Any) -> Any:
        if isinstance(v, dict) and "t" in v:
            return datetime.fromisoformat(v["t"])
        if isinstance(v, dict) and "u" in v:
            return UUID(v["u"])
        return v

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong arity")
        return [conv(v) for v in values]
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationError.single("cursor", "not a cursor returned by this list") from exc


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.single("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def keyset_after(
    columns: Sequence[ColumnElement[Any]], values: Sequence[Any], *, descending: bool
) -> ColumnElement[bool]:
    """The WHERE clause selecting rows strictly after ``values`` in the order of ``columns``.

    Written as an OR of ANDs (not a row-value comparison) so that it works on both databases,
    behind a redundant range bound on the first column: without it neither SQLite nor
    PostgreSQL turns the OR into an index range, and a page deep in a large table scans every
    row before it (hundreds of ms at a million rows).
    """
    clauses = []
    for i, col in enumerate(columns):
        eqs = [columns[j] == values[j] for j in range(i)]
        cmp = col < values[i] if descending else col > values[i]
        clauses.append(and_(*eqs, cmp))
    first = columns[0] <= values[0] if descending else columns[0] >= values[0]
    return and_(first, or_(*clauses))
