"""What the plant services share: tenant-scoped lookups, list filters, keyset pages, commits
that turn a unique-key clash into a 409, partial updates and the bulk-upsert runner (per-item
results, savepoints)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlmodel import Session, SQLModel

from plantsync.core.paging import check_limit, decode_cursor, encode_cursor, keyset_after
from plantsync.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

R = TypeVar("R")
Q = TypeVar("Q", bound=Select[Any])

MAX_BULK_ITEMS = 10_000
_CHUNK = 250


def get_owned(
    session: Session, model: type[R], tenant_id: uuid.UUID, row_id: uuid.UUID, name: str
) -> R:
    """The row ``row_id`` of ``model`` in ``tenant_id``; ``NotFoundError`` (404) otherwise —
    also when it exists in another tenant, so ids never leak across tenants."""
    row = session.get(model, row_id)
    if row is None or row.tenant_id != tenant_id:  # type: ignore[attr-defined]
        raise NotFoundError(name, row_id)
    return row


def where_equal(stmt: Q, *filters: tuple[Any, Any]) -> Q:
    """``stmt`` narrowed to ``column == value`` for each ``(column, value)`` whose value is given
    (not None): the optional equality filters of a list endpoint."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def where_search(stmt: Q, q: str | None, *columns: Any) -> Q:
    """``stmt`` narrowed to rows where any of ``columns`` contains ``q`` (case-insensitive);
    unchanged when ``q`` is empty."""
    if not q:
        return stmt
    pattern = f"%{q.lower()}%"
    return stmt.where(or_(*(func.lower(c).like(pattern) for c in columns)))


def commit_or_conflict(session: Session, message: str) -> None:
    """Commits; a unique-key clash (a concurrent create won) rolls back and raises
    ``ConflictError(message)`` (409)."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(message) from exc


def check_window(start: datetime, end: datetime, *, max_span: timedelta) -> None:
    """Refuses a report window ``[start, end)`` that is empty or longer than ``max_span``.

    Raises:
        ValidationError: on ``to`` (the API's name for ``end``).
    """
    if end <= start:
        raise ValidationError.single("to", "must be after from")
    if end - start > max_span:
        raise ValidationError.single("to", f"the window may span at most {max_span.days} days")


def keyset_page(
    session: Session,
    stmt: Select[Any],
    *,
    order: Sequence[Any],
    limit: int | None,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` sorted by ``order`` (non-null columns ending in the id).

    Returns the rows and the cursor of the next page (``None`` on the last page).
    """
    size = check_limit(limit)
    if cursor:
        values = decode_cursor(cursor, len(order))
        stmt = stmt.where(keyset_after(order, values, descending=descending))
    stmt = stmt.order_by(*[c.desc() if descending else c.asc() for c in order]).limit(size + 1)
    rows = list(session.execute(stmt).scalars())
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor([getattr(rows[-1], c.key) for c in order]) if more else None
    return rows, next_cursor


def changed_fields(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``values`` that differs from ``row``'s attributes."""
    return {k: v for k, v in values.items() if getattr(row, k) != v}


def apply_values(row: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(row, key, value)


def pydantic_errors(exc: PydanticValidationError) -> dict[str, list[str]]:
    """A pydantic error as our ``{field: [messages]}``."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "item"
        errors.setdefault(field, []).append(str(err.get("msg")))
    return errors


def validate_item(model: type[BaseModel], raw: Any) -> Any:
    """``raw`` validated as ``model``; ``ValidationError`` naming each bad field otherwise."""
    if isinstance(raw, model):
        return raw
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationError(pydantic_errors(exc)) from None


# --- bulk upserts ----------------------------------------------------------------------------


class BulkOutcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    failed = "failed"


class BulkItemResult(BaseModel):
    """The outcome of one item (a plain pydantic model: one is built per item of a sync, and
    SQLModel's validating constructor costs ~20x more)."""

    index: int
    key: str | None = None
    outcome: BulkOutcome
    id: uuid.UUID | None = None
    message: str | None = None
    errors: dict[str, list[str]] = {}


class BulkResult(SQLModel):
    """One result per item, in request order."""

    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[BulkItemResult]


def check_bulk_size(items: Sequence[Any]) -> None:
    if not items:
        raise ValidationError.single("items", "at least one item is required")
    if len(items) > MAX_BULK_ITEMS:
        raise ValidationError.single("items", f"at most {MAX_BULK_ITEMS} items per request")


ItemHandler = Callable[[int, Any], BulkItemResult]
#: Called with a chunk's items before they run (e.g. to load their existing rows in one query).
ChunkPrepare = Callable[[Sequence[Any]], None]
#: Called after the items of a chunk (or of a replayed item) ran, before the flush (e.g. to
#: stamp the change sequence of the chunk's written rows at once).
ChunkFinish = Callable[[], None]


def _noop(*_: Any) -> None:
    return None


def run_bulk(
    session: Session,
    items: Sequence[Any],
    handle: ItemHandler,
    *,
    key_field: str | None = None,
    prepare: ChunkPrepare | None = None,
    finish: ChunkFinish | None = None,
) -> BulkResult:
    """Applies ``handle(index, item)`` to every item and commits what succeeded, chunk by chunk.

    Not all-or-nothing: an item that fails (bad fields, unknown references, a conflict) gets a
    ``failed`` result and the others are stored. Items run in chunks, each in a savepoint;
    when the database refuses a chunk (e.g. a concurrent insert of the same key) the chunk is
    replayed item by item, each in its own savepoint, so only the offending item fails.
    ``key_field`` names the item field reported as ``key`` when an item fails validation.
    ``prepare(chunk_items)`` runs before a chunk (and again before its replay); ``finish()``
    runs inside the savepoint after the chunk's (or the replayed item's) handlers, before the
    flush.
    """
    check_bulk_size(items)
    hooks = (prepare or _noop, finish or _noop)
    results: list[BulkItemResult] = []
    for start in range(0, len(items), _CHUNK):
        chunk = list(enumerate(items[start : start + _CHUNK], start=start))
        results.extend(_run_chunk(session, chunk, handle, key_field, hooks))
        # Commit per chunk: a 10,000-item request never holds SQLite's single write lock for
        # long, so andon calls and other short writes get their turn in between (the
        # database's write gate serves waiting writers first come, first served).
        session.commit()
    counts = {o: sum(1 for r in results if r.outcome == o) for o in BulkOutcome}
    return BulkResult(
        created=counts[BulkOutcome.created],
        updated=counts[BulkOutcome.updated],
        unchanged=counts[BulkOutcome.unchanged],
        failed=counts[BulkOutcome.failed],
        results=results,
    )


def _run_chunk(
    session: Session,
    chunk: list[tuple[int, Any]],
    handle: ItemHandler,
    key_field: str | None,
    hooks: tuple[ChunkPrepare, ChunkFinish],
) -> list[BulkItemResult]:
    prepare, finish = hooks
    try:
        prepare([item for _, item in chunk])
        with session.begin_nested():
            results = [_guarded(handle, i, item, key_field) for i, item in chunk]
            finish()
            session.flush()
        return results
    except IntegrityError:
        pass
    prepare([item for _, item in chunk])
    out = []
    for i, item in chunk:
        try:
            with session.begin_nested():
                result = _guarded(handle, i, item, key_field)
                finish()
                session.flush()
        except IntegrityError:
            key = item.get(key_field) if key_field and isinstance(item, dict) else None
            result = BulkItemResult(
                index=i,
                key=key if isinstance(key, str) else None,
                outcome=BulkOutcome.failed,
                message="refused by the database (a concurrent write of the same key?)",
            )
        out.append(result)
    return out


def _guarded(handle: ItemHandler, index: int, item: Any, key_field: str | None) -> BulkItemResult:
    try:
        return handle(index, item)
    except (InputError, PermissionDeniedError) as exc:
        key = item.get(key_field) if key_field and isinstance(item, dict) else None
        return BulkItemResult(
            index=index,
            key=key if isinstance(key, str) else None,
            outcome=BulkOutcome.failed,
            message=exc.message,
            errors=getattr(exc, "errors", {}) or {},
        )
