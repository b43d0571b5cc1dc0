"""Change tracking: what changed since a mark, and who changed it — the feed outbound syncs read.

Every insert or update of a tracked row (machine, work order, downtime event, production run)
goes through ``stamp_change(session, row, origin)``, which sets

* ``updated_at`` — the clock's now;
* ``origin_kind`` / ``origin_id`` / ``origin_connection_id`` — a user, a device (API key or
  service account), the system, or an inbound sync of connection X (``ChangeOrigin``);
* ``change_seq`` — a number from a real database sequence (PostgreSQL ``plantsync_change_seq``,
  drawn with ``nextval`` inside the INSERT/UPDATE, so concurrent writers never wait for one
  another) or, on SQLite, from a counter row updated inside the writing transaction;
* ``change_xid`` — on PostgreSQL the writing transaction's id (``pg_current_xact_id()``), on
  SQLite 0.

Reading: ``changed_since(session=, model=, tenant_id=, after=mark, exclude_connection_id=X)``
returns rows in change order ``(change_xid, change_seq)`` strictly after ``mark``, and the next
mark. It is one query on the ``(tenant_id, change_xid, change_seq)`` index of the table.

Why the mark is safe
--------------------
A sequence number is drawn when a row is written, not when its transaction commits, so on
PostgreSQL a row with a *lower* number can become visible after a reader has already seen a
higher one. Reading "everything above the highest number seen" would lose it for ever. So:

1. The reader first takes the horizon ``h = pg_snapshot_xmin(pg_current_snapshot())``: every
   transaction with an id below ``h`` has finished (committed or rolled back), and every
   transaction still running — or not yet started — has an id ``>= h``.
2. It hands out only rows with ``change_xid < h``, ordered by ``(change_xid, change_seq)``.
   Those rows are final: nothing can still appear among them.
3. Any row that becomes visible later was written by a transaction whose id is ``>= h``, so it
   sorts after every row handed out — after the mark. Nothing is skipped.
4. When a call returns fewer rows than ``limit`` it has seen everything below the horizon, so
   the mark jumps to ``(h - 1, max)``: rows excluded by ``exclude_connection_id`` are not
   scanned again.

The price: while a transaction is open, changes of transactions that began after it wait until
it ends. Write transactions are short by design (andon calls, API writes; bulk upserts commit
per request), so the delay is that of the longest open write. Updating a row again moves it
to its new position in the order (a row appears once per mark, in its latest state).

SQLite serialises writers (``BEGIN IMMEDIATE``) and allocates the number inside the writing
transaction, so numbers are handed out in commit order: every uncommitted number is higher
than every committed one, and the plain ``change_seq`` order (``change_xid`` is 0) is safe.

A mark is opaque to callers: store ``mark.encode()`` (e.g. as a sync cursor) and pass
``ChangeMark.decode(text)`` back. ``after=None`` reads from the beginning.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Text, cast, func, or_, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.db import Database
from plantsync.core.models.change import CHANGE_SEQUENCE, ChangeCounter, ChangeTracked, OriginKind
from plantsync.core.paging import check_limit, keyset_after
from plantsync.core.principal import Principal, PrincipalKind
from plantsync.errors import ValidationError

T = TypeVar("T", bound=ChangeTracked)

_MAX_SEQ = 2**63 - 1

_PRINCIPAL_ORIGIN = {
    PrincipalKind.user: OriginKind.user,
    PrincipalKind.service_account: OriginKind.device,
    PrincipalKind.api_key: OriginKind.device,
    PrincipalKind.system: OriginKind.system,
}


@dataclass(frozen=True)
class ChangeOrigin:
    """Who or what made a change. Build one with the class methods."""

    kind: OriginKind
    id: uuid.UUID | None = None
    connection_id: uuid.UUID | None = None
    label: str | None = None

    @classmethod
    def from_principal(cls, principal: Principal) -> ChangeOrigin:
        """A change made by an API caller or the CLI (the principal's subject and label)."""
        return cls(
            kind=_PRINCIPAL_ORIGIN[principal.kind],
            id=principal.subject_id,
            label=principal.label,
        )

    @classmethod
    def inbound_sync(cls, connection_id: uuid.UUID) -> ChangeOrigin:
        """A change an inbound sync of ``connection_id`` brought from the ERP."""
        return cls(kind=OriginKind.sync, id=connection_id, connection_id=connection_id)

    @classmethod
    def system(cls, label: str = "system") -> ChangeOrigin:
        """A change PlantSync made on its own (demo data, maintenance jobs)."""
        return cls(kind=OriginKind.system, label=label)


@dataclass(frozen=True, order=True)
class ChangeMark:
    """A position in the change order of one table and tenant (see the module docstring)."""

    xid: int
    seq: int

    def encode(self) -> str:
        return f"{self.xid}.{self.seq}"

    @classmethod
    def decode(cls, value: str) -> ChangeMark:
        """The mark ``encode`` produced; ``ValidationError`` on field ``mark`` otherwise."""
        try:
            xid, seq = (int(p) for p in value.split("."))
        except ValueError as exc:
            raise ValidationError.single("mark", "not a change mark") from exc
        if xid < 0 or seq < 0:
            raise ValidationError.single("mark", "not a change mark")
        return cls(xid, seq)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _sqlite_reserve(session: Session, name: str, count: int) -> int:
    """Advances the counter ``name`` by ``count`` in one statement; returns the new top (the
    numbers ``top - count + 1 .. top`` are the caller's)."""
    counter: Any = ChangeCounter
    stmt = (
        sqlite_insert(ChangeCounter)
        .values(name=name, value=count)
        .on_conflict_do_update(index_elements=["name"], set_={"value": counter.value + count})
        .returning(counter.value)
    )
    return int(session.execute(stmt).scalar_one())


_CURRENT_XID: Any = cast(cast(func.pg_current_xact_id(), Text), BigInteger)


def stamp_change(
    session: Session, row: ChangeTracked, origin: ChangeOrigin, *, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Mark ``row`` as changed now by ``origin``; call it for every insert and update.

    On PostgreSQL the sequence number and transaction id are SQL expressions evaluated by the
    row's INSERT/UPDATE at flush (read them back after a flush); on SQLite they are set here.
    """
    stamp_changes(session, [row], origin, clock=clock)


def stamp_changes(
    session: Session,
    rows: Sequence[ChangeTracked],
    origin: ChangeOrigin,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """``stamp_change`` for a chunk of rows at once (the rule lives here, for both).

    On SQLite the counter of each table moves once for the whole chunk (one statement, not one
    per row); the rows get consecutive numbers in the order given. On PostgreSQL every row
    still draws ``nextval`` inside its own INSERT/UPDATE.
    """
    if not rows:
        return
    stamp = _origin_values(origin, clock)
    postgres = _is_postgres(session)
    tables: dict[str, list[ChangeTracked]] = {}
    for row in rows:
        for name, value in stamp.items():
            setattr(row, name, value)
        if postgres:
            row.change_seq = CHANGE_SEQUENCE.next_value()  # type: ignore[assignment]
            row.change_xid = _CURRENT_XID
        else:
            tables.setdefault(str(type(row).__tablename__), []).append(row)
    for name, group in tables.items():
        first = _sqlite_reserve(session, name, len(group)) - len(group) + 1
        for offset, row in enumerate(group):
            row.change_seq = first + offset
            row.change_xid = 0
    session.add_all(rows)


def _origin_values(origin: ChangeOrigin, clock: Clock) -> dict[str, Any]:
    return {
        "updated_at": clock.now(),
        "origin_kind": origin.kind,
        "origin_id": origin.id,
        "origin_connection_id": origin.connection_id,
    }


def insert_stamped(
    session: Session,
    model: type[ChangeTracked],
    rows: Sequence[dict[str, Any]],
    origin: ChangeOrigin,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Inserts new rows of a tracked table, given as plain column dicts, with one executemany
    statement and stamped as ``stamp_changes`` would (in the order given): the bulk path of
    the inbound sync, with no ORM objects. Every dict must have the same keys; the rows are
    not added to the session."""
    if not rows:
        return
    stamp = _origin_values(origin, clock)
    table: Any = model.__table__  # type: ignore[attr-defined]
    stmt = table.insert()
    if _is_postgres(session):
        stmt = stmt.values(change_seq=CHANGE_SEQUENCE.next_value(), change_xid=_CURRENT_XID)
        params = [{**row, **stamp} for row in rows]
    else:
        first = _sqlite_reserve(session, str(table.name), len(rows)) - len(rows) + 1
        params = [
            {**row, **stamp, "change_seq": first + offset, "change_xid": 0}
            for offset, row in enumerate(rows)
        ]
    session.execute(stmt, params)


_XMAX = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def await_horizon(database: Database, *, timeout_s: float) -> bool:
    """PostgreSQL: waits (bounded) until every transaction open now has ended, so that the
    feed includes everything committed before this call. True when it did; SQLite: at once.

    The feed hands out only changes below the oldest open transaction of the cluster (see
    the module docstring); without this wait a change committed a moment ago, while an
    unrelated transaction was open, would only be handed out by a later read.
    """
    if database.is_sqlite:
        return True
    with database.read_session() as session:
        target = int(session.execute(_XMAX).scalar_one())
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        with database.read_session() as session:
            if int(session.execute(_XMIN).scalar_one()) >= target:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)  # another process's transaction: nothing to wait on but time
        pause = min(0.5, pause * 2)


def _horizon(session: Session) -> int | None:
    if not _is_postgres(session):
        return None
    return int(session.execute(_XMIN).scalar_one())


def changed_since(
    *,
    session: Session,
    model: type[T],
    tenant_id: uuid.UUID,
    after: ChangeMark | None,
    exclude_connection_id: uuid.UUID | None = None,
    limit: int = 500,
) -> tuple[list[T], ChangeMark]:
    """Rows of ``model`` in ``tenant_id`` changed after ``after``, in change order.

    Args:
        after: the mark a previous call returned; ``None`` starts at the beginning.
        exclude_connection_id: leave out rows whose latest change came from an inbound sync of
            this connection (so a sync never echoes back what it brought in).
        limit: at most this many rows (1..500).

    Returns:
        The rows and the mark to pass next time. Fewer than ``limit`` rows means "caught up
        for now"; the mark never moves backwards.
    """
    limit = check_limit(limit)
    table: Any = model
    horizon = _horizon(session)
    stmt = select(model).where(table.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(
            keyset_after(
                [table.change_xid, table.change_seq], [after.xid, after.seq], descending=False
            )
        )
    if horizon is not None:
        stmt = stmt.where(table.change_xid < horizon)
    if exclude_connection_id is not None:
        stmt = stmt.where(
            or_(
                table.origin_connection_id.is_(None),
                table.origin_connection_id != exclude_connection_id,
            )
        )
    stmt = stmt.order_by(table.change_xid, table.change_seq).limit(limit)
    rows: list[T] = list(session.execute(stmt).scalars())
    return rows, _next_mark(rows, after, horizon, full=len(rows) == limit)


def _next_mark(
    rows: list[Any], after: ChangeMark | None, horizon: int | None, *, full: bool
) -> ChangeMark:
    mark = after or ChangeMark(0, 0)
    if rows:
        mark = max(mark, ChangeMark(rows[-1].change_xid, rows[-1].change_seq))
    if not full and horizon is not None and horizon > 0:
        mark = max(mark, ChangeMark(horizon - 1, _MAX_SEQ))
    return mark


__all__ = [
    "ChangeMark",
    "ChangeOrigin",
    "changed_since",
    "insert_stamped",
    "stamp_change",
    "stamp_changes",
]
