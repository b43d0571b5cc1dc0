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

The steps live in ``feed`` (selection), ``planning`` (``plan``) and ``sending``
(``push_batch``); ``run`` chains them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from plantsync.core.models.integration import (
    LinkState,
)
from plantsync.core.services.changes import await_horizon
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.outbound.feed import (
    PAGE,
    feed_page,
    load_mark,
    rows_by_id,
    save_mark,
    unsettled_ids,
)
from plantsync.core.sync.outbound.planning import OutboundItem, plan
from plantsync.core.sync.outbound.sending import push_batch
from plantsync.entities import Direction

SETTLE_TIMEOUT_S = 10.0
BATCH = 100


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
