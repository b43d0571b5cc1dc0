"""Outbound runs: plant changes -> ERP, incremental and idempotent.

Selection (``select_changes``):

1. Records whose last push has no recorded answer (link ``sending``/``unknown``) come first,
   and, on a ``retry`` run, records the ERP refused last time (``failed``).
2. Then the change feed (``changed_since``) after the connection's outbound mark, leaving out
   rows whose latest change came from this connection's own inbound runs (no echo) and
   changes older than the connection's ``outbound_start_from``.
3. A record is sent only when the hash of its mapped ERP fields differs from the hash of what
   was last sent (``ExternalLink.sent_hash``); otherwise it counts as unchanged.

Sending (``push_batch``): the links of a batch are first committed as ``sending`` (answer
unknown), then the batch is pushed in bulk, then the results are committed — the ERP key of a
created record, the hash sent, or the record's error. A run killed between the push and the
last commit leaves ``sending`` links: the next run sends those records with ``maybe_sent``, so
the connector reconciles (our key, or ``find`` by our reference) instead of creating twice.
The mark advances only after a page's results are committed.

Create-only resources (SAP confirmations) are corrected by the connector: a record with an
ERP key is sent as a cancellation of that key plus a new record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from plantsync.connectors.base import PushRecord, PushResult, Reconcile
from plantsync.core.models.integration import (
    ExternalLink,
    LinkState,
    SyncCursor,
    SyncTrigger,
)
from plantsync.core.services.changes import ChangeMark, await_horizon, changed_since
from plantsync.core.sync import links, references
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.hashing import record_hash
from plantsync.core.sync.records import OUTBOUND_MODELS, Refs, canonical_record, eligible
from plantsync.entities import Direction
from plantsync.errors import AmbiguousWriteError, RecordError
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import RecordMappingError, to_erp

PAGE = 500
SETTLE_TIMEOUT_S = 10.0
BATCH = 100


@dataclass
class OutboundItem:
    """One record of a page and what the run does with it.

    ``action``: ``create``, ``update``, ``correct`` (create-only: cancel + new), ``unchanged``
    (same hash as last sent) or ``erp_owned`` (came from another ERP resource; not ours to push).
    """

    local_id: uuid.UUID
    action: str
    fields: dict[str, Any]
    hash: str
    change_seq: int
    erp_key: str | None = None
    reference: str | None = None
    maybe_sent: bool = False

    @property
    def sends(self) -> bool:
        return self.action in ("create", "update", "correct")

    def describe(self) -> dict[str, Any]:
        return {
            "local_id": str(self.local_id),
            "action": self.action,
            "erp_key": self.erp_key,
            "reference": self.reference,
            "maybe_sent": self.maybe_sent,
            "payload": self.fields,
        }


# --- selection -------------------------------------------------------------------------------


def load_mark(session: Session, ctx: RunContext) -> tuple[SyncCursor | None, ChangeMark | None]:
    cursor = _cursor(session, ctx)
    if cursor is None or not cursor.delta_token:
        return cursor, None
    return cursor, ChangeMark.decode(cursor.delta_token)


def _cursor(session: Session, ctx: RunContext) -> SyncCursor | None:
    return session.exec(
        select(SyncCursor).where(
            SyncCursor.connection_id == ctx.connection_id,
            SyncCursor.entity_type == ctx.entity,
            SyncCursor.direction == Direction.outbound,
        )
    ).first()


def save_mark(ctx: RunContext, mark: ChangeMark) -> None:
    """Stores the outbound mark (after the page's results were committed)."""
    if ctx.dry:
        return
    with ctx.database.write_session() as session:
        cursor = _cursor(session, ctx) or SyncCursor(
            tenant_id=ctx.tenant_id,
            connection_id=ctx.connection_id,
            entity_type=ctx.entity,
            direction=Direction.outbound,
            updated_at=ctx.now(),
        )
        cursor.delta_token = mark.encode()
        cursor.change_seq = mark.seq
        cursor.last_log_id = ctx.log_id
        cursor.updated_at = ctx.now()
        session.add(cursor)


def _in_window(ctx: RunContext, row: Any) -> bool:
    return bool(row.updated_at >= ctx.connection.outbound_start_from)


def rows_by_id(session: Session, ctx: RunContext, ids: Sequence[uuid.UUID]) -> list[Any]:
    """The tenant's rows of the run's entity with these ids (in the window, eligible)."""
    model: Any = OUTBOUND_MODELS[ctx.entity]
    found = session.exec(
        select(model).where(model.tenant_id == ctx.tenant_id, col(model.id).in_(list(ids)))
    ).all()
    return [r for r in found if _in_window(ctx, r) and eligible(ctx.entity, r)]


def feed_page(
    session: Session, ctx: RunContext, mark: ChangeMark | None
) -> tuple[list[Any], ChangeMark, bool]:
    """One page of changed rows after ``mark`` (no echo, in the window, eligible), the next
    mark, and whether more may follow (the page was full)."""
    rows, next_mark = changed_since(
        session=session,
        model=OUTBOUND_MODELS[ctx.entity],  # type: ignore[type-var]
        tenant_id=ctx.tenant_id,
        after=mark,
        exclude_connection_id=ctx.connection_id,
        limit=PAGE,
    )
    kept = [r for r in rows if _in_window(ctx, r) and eligible(ctx.entity, r)]
    return kept, next_mark, len(rows) == PAGE


def unsettled_ids(session: Session, ctx: RunContext) -> list[uuid.UUID]:
    ids = links.unsettled(session, ctx.connection_id, ctx.entity)
    if ctx.trigger is not SyncTrigger.retry:
        by = links.by_local(session, ctx.connection_id, ctx.entity, ids)
        ids = [i for i in ids if by[i].state != LinkState.failed]
    return ids


# --- planning --------------------------------------------------------------------------------


def plan(
    session: Session,
    ctx: RunContext,
    rows: Sequence[Any],
    failed: dict[uuid.UUID, str] | None = None,
) -> list[OutboundItem]:
    """What to do with each row. A row that cannot be sent (a mapping failure, a required
    reference that does not resolve) is recorded on ``ctx``, added to ``failed`` (local id ->
    message) and left out."""
    if not rows:
        return []
    refs = links.load_refs(session, ctx.connection_id, ctx.entity, rows)
    existing = links.by_local(session, ctx.connection_id, ctx.entity, [r.id for r in rows])
    items = []
    for row in rows:
        try:
            items.append(_plan_row(ctx, row, refs, existing.get(row.id)))
        except RecordMappingError as exc:
            ctx.fail_record(exc.code, exc.message, local_id=row.id)
            if failed is not None:
                failed[row.id] = exc.message
    return items


def _plan_row(ctx: RunContext, row: Any, refs: Refs, link: ExternalLink | None) -> OutboundItem:
    mapping = ctx.mapping
    record = canonical_record(ctx.entity, row, refs)
    references.check(ctx, row, record, refs)
    fields = to_erp(mapping, record, Context(currency=record.get("currency")), entity=ctx.entity)
    digest = record_hash(fields)
    item = OutboundItem(
        local_id=row.id,
        action="create",
        fields=fields,
        hash=digest,
        change_seq=row.change_seq,
        reference=_reference(ctx, fields, row.id),
    )
    if link is None:
        return item
    item.erp_key = link.erp_key
    item.maybe_sent = link.state in (LinkState.sending, LinkState.unknown)
    if link.last_direction == Direction.inbound and _erp_owned(ctx):
        item.action = "erp_owned"
    elif link.state == LinkState.linked and link.sent_hash == digest:
        item.action = "unchanged"
    elif link.erp_key is not None:
        item.action = "correct" if mapping.create_only else "update"
    return item


def _reference(ctx: RunContext, fields: dict[str, Any], local_id: uuid.UUID) -> str | None:
    mapping = ctx.mapping
    if mapping.reconcile is Reconcile.none:
        return None
    if mapping.reference_field and fields.get(mapping.reference_field) not in (None, ""):
        return str(fields[mapping.reference_field])  # a mapped user key (Oracle order number)
    return str(local_id)


def _erp_owned(ctx: RunContext) -> bool:
    """Records pulled from a different ERP resource than the one pushed to (SAP production
    orders in, maintenance orders out) belong to the ERP: a push would hit the wrong object."""
    inbound = ctx.provider_mapping.get(ctx.entity, Direction.inbound)
    return inbound is not None and inbound.resource != ctx.mapping.resource


# --- sending ---------------------------------------------------------------------------------


def push_batch(ctx: RunContext, items: Sequence[OutboundItem]) -> None:
    """Marks the links ``sending``, pushes, records the results (see the module docstring)."""
    if not items:
        return
    _mark_sending(ctx, items)
    records = [
        PushRecord(
            local_id=str(i.local_id),
            fields=i.fields,
            erp_key=i.erp_key,
            reference=i.reference,
            maybe_sent=i.maybe_sent,
        )
        for i in items
    ]
    results = ctx.connector.push(ctx.entity, records)
    _record_results(ctx, items, results)


def _mark_sending(ctx: RunContext, items: Sequence[OutboundItem]) -> None:
    now = ctx.now()
    with ctx.database.write_session() as session:
        existing = links.by_local(
            session, ctx.connection_id, ctx.entity, [i.local_id for i in items]
        )
        for item in items:
            link = existing.get(item.local_id)
            state = link.state if link and link.state == LinkState.unknown else LinkState.sending
            links.put(
                session, link, tenant_id=ctx.tenant_id, connection_id=ctx.connection_id,
                entity=ctx.entity, local_id=item.local_id, now=now, state=state,
                reference=item.reference, last_direction=Direction.outbound,
                last_log_id=ctx.log_id,
            )  # fmt: skip


def _record_results(
    ctx: RunContext, items: Sequence[OutboundItem], results: Sequence[PushResult]
) -> None:
    by_id = {r.local_id: r for r in results}
    now = ctx.now()
    with ctx.database.write_session() as session:
        existing = links.by_local(
            session, ctx.connection_id, ctx.entity, [i.local_id for i in items]
        )
        for item in items:
            link = existing[item.local_id]
            result = by_id.get(str(item.local_id))
            if result is None or not result.ok:
                _failed(ctx, link, item, result.error if result else None, now)
                continue
            ctx.counts.written += 1
            if result.created or item.erp_key is None:
                ctx.counts.created += 1
            else:
                ctx.counts.updated += 1
            links.put(
                session, link, tenant_id=ctx.tenant_id, connection_id=ctx.connection_id,
                entity=ctx.entity, local_id=item.local_id, now=now, state=LinkState.linked,
                erp_key=result.erp_key or item.erp_key, sent_hash=item.hash,
                sent_change_seq=item.change_seq, error=None, last_synced_at=now,
            )  # fmt: skip


def _failed(
    ctx: RunContext,
    link: ExternalLink,
    item: OutboundItem,
    error: RecordError | AmbiguousWriteError | None,
    now: Any,
) -> None:
    message = error.message if error else "the connector returned no result for this record"
    code = error.code if error else "no_result"
    # An ambiguous answer means the write may have landed: reconcile next time, never re-create.
    state = LinkState.unknown if isinstance(error, AmbiguousWriteError) else LinkState.failed
    link.state = state
    link.error = ctx.scrub(message)
    link.updated_at = now
    ctx.fail_record(code, message, local_id=item.local_id, erp_key=item.erp_key)


# --- the run ---------------------------------------------------------------------------------


def run(ctx: RunContext) -> tuple[bool, str]:
    """One outbound run; returns ``(anything_attempted, summary)``. Raises connector errors
    that stop the run (auth, ERP unavailable after retries) with the links left ``sending``."""
    done: set[uuid.UUID] = set()
    if ctx.entity_id is not None:
        _process_ids(ctx, [uuid.UUID(ctx.entity_id)], done)
        return _summary(ctx)
    with ctx.database.read_session() as session:
        retry = unsettled_ids(session, ctx)
    for start in range(0, len(retry), PAGE):
        _process_ids(ctx, retry[start : start + PAGE], done)
    if not await_settled(ctx):
        ctx.note(
            "changes of database transactions that were still open when the run started are "
            "sent by the next run"
        )
    with ctx.database.read_session() as session:
        _cursor_row, mark = load_mark(session, ctx)
    more = True
    while more:
        failed: dict[uuid.UUID, str] = {}
        with ctx.database.read_session() as session:
            rows, next_mark, more = feed_page(session, ctx, mark)
            items = plan(session, ctx, [r for r in rows if r.id not in done], failed)
        _unsent(ctx, failed, done)
        _send(ctx, items, done)
        save_mark(ctx, next_mark)
        ctx.checkpoint({"phase": "changes", "mark": next_mark.encode()})
        mark = next_mark
    return _summary(ctx)


def await_settled(ctx: RunContext, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
    """Waits (bounded) until every transaction open when the run started has ended, so the
    change feed includes everything committed before the run began (``await_horizon``)."""
    return await_horizon(ctx.database, timeout_s=timeout_s)


def _process_ids(ctx: RunContext, ids: Sequence[uuid.UUID], done: set[uuid.UUID]) -> None:
    failed: dict[uuid.UUID, str] = {}
    with ctx.database.read_session() as session:
        rows = [r for r in rows_by_id(session, ctx, ids) if r.id not in done]
        items = plan(session, ctx, rows, failed)
    _unsent(ctx, failed, done)
    _send(ctx, items, done)
    ctx.checkpoint({"phase": "unsettled" if ctx.entity_id is None else "record"})


def _unsent(ctx: RunContext, failed: dict[uuid.UUID, str], done: set[uuid.UUID]) -> None:
    """Records that failed before sending get a ``failed`` link with the reason, so a retry
    run picks them up once the cause is fixed (the ERP side is untouched: key kept)."""
    if not failed or ctx.dry:
        return
    now = ctx.now()
    with ctx.database.write_session() as session:
        existing = links.by_local(session, ctx.connection_id, ctx.entity, list(failed))
        for local_id, message in failed.items():
            link = existing.get(local_id)
            if link is not None and link.last_direction == Direction.inbound:
                continue  # the ERP's own record: nothing of ours to retry
            links.put(
                session, link, tenant_id=ctx.tenant_id, connection_id=ctx.connection_id,
                entity=ctx.entity, local_id=local_id, now=now, state=LinkState.failed,
                error=ctx.scrub(message), last_direction=Direction.outbound,
                last_log_id=ctx.log_id,
            )  # fmt: skip
    ctx.counts.read += len(failed)
    done.update(failed)


def _send(ctx: RunContext, items: Sequence[OutboundItem], done: set[uuid.UUID]) -> None:
    ctx.counts.read += len(items)
    to_send = [i for i in items if i.sends]
    ctx.counts.skipped += len(items) - len(to_send)
    for start in range(0, len(to_send), BATCH):
        batch = to_send[start : start + BATCH]
        push_batch(ctx, batch)
        ctx.checkpoint({"phase": "sending", "sent": ctx.counts.written})
    done.update(i.local_id for i in items)


def _summary(ctx: RunContext) -> tuple[bool, str]:
    c = ctx.counts
    attempted = c.written + c.failed
    text = (
        f"Sent {c.written} {ctx.entity.value} record(s) ({c.created} created, "
        f"{c.updated} updated), {c.failed} failed, {c.skipped} unchanged."
    )
    return attempted > 0, text


__all__ = [
    "BATCH",
    "OutboundItem",
    "feed_page",
    "load_mark",
    "plan",
    "push_batch",
    "rows_by_id",
    "run",
    "save_mark",
    "unsettled_ids",
]
