"""Inbound runs: ERP -> plant, by ERP key, incremental, never echoed back.

- The pull starts at the connection's cursor: the delta token where the ERP has one, else the
  change-date watermark minus ``OVERLAP`` (rows sharing the boundary timestamp, and rows that
  arrive late with an older timestamp, are read again rather than lost).
- Rows read twice (the overlap, a key on two pages) are deduplicated: a record whose ERP
  fields hash to what its link holds is unchanged and not written again.
- Each record is upserted through the plant's natural-key services (machines by code, work
  orders by number) with the origin ``inbound_sync(connection)`` — so the change feed leaves
  it out of this connection's outbound runs — and its link (ERP key, hash) is stored. A
  record linked before keeps its local row even when the ERP renamed its code.
- Deleted or deactivated records deactivate the machine (a work order is cancelled).
- Writes are short transactions of at most ``SLICE`` records, so other writers (andon calls
  on SQLite) are never held up for long; the cursor advances only after the last page's rows
  are committed. A run cut short re-reads from the old cursor and converges.
- The next pages are read ahead while the current one is written (``prefetch.read_ahead``).

The steps live in ``cursor`` (where a pull starts), ``repeats`` (``dedupe`` within a run),
``planning`` (``plan``: what each record does) and ``writing`` (``apply``); ``run`` chains them.
"""

from __future__ import annotations

from plantsync.connectors.base import Cursor
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.inbound.cursor import OVERLAP, save_cursor, start_cursor
from plantsync.core.sync.inbound.planning import InboundItem, plan
from plantsync.core.sync.inbound.repeats import RecentHashes, dedupe
from plantsync.core.sync.inbound.writing import apply
from plantsync.core.sync.prefetch import read_ahead

SLICE = 250


def run(ctx: RunContext) -> str:
    """One inbound run; returns the summary. Connector errors that stop the pull propagate
    (nothing after the last committed slice is lost: the cursor did not move)."""
    with ctx.database.read_session() as session:
        since = start_cursor(session, ctx)
    seen = RecentHashes()
    reached: Cursor | None = None
    full = since is None
    with read_ahead(ctx.connector.pull(ctx.entity, since=since)) as pulled:
        for pages, page in enumerate(pulled, start=1):
            records = list(page.records)
            if ctx.entity_id is not None:
                records = [r for r in records if r.key == ctx.entity_id]
            records = dedupe(records, seen)
            ctx.counts.read += len(records)
            for start in range(0, len(records), SLICE):
                with ctx.database.read_session() as session:
                    items = plan(session, ctx, records[start : start + SLICE], seen)
                apply(ctx, items)
            if page.full:
                full = True
                ctx.note(
                    page.note or "the ERP could not continue from the saved position: full pull"
                )
            elif page.note:
                ctx.note(page.note)
            reached = page.cursor or reached
            ctx.checkpoint({"phase": "pulling", "pages": pages})
    if reached is not None and ctx.entity_id is None:
        save_cursor(ctx, reached, full=full)
    return _summary(ctx, full)


def _summary(ctx: RunContext, full: bool) -> str:
    c = ctx.counts
    kind = "Full pull" if full else "Incremental pull"
    return (
        f"{kind}: read {c.read} {ctx.entity.value} record(s), wrote {c.written} "
        f"({c.created} created, {c.updated} updated), {c.failed} failed, {c.skipped} unchanged."
    )


__all__ = [
    "OVERLAP",
    "InboundItem",
    "RecentHashes",
    "apply",
    "dedupe",
    "plan",
    "run",
    "save_cursor",
    "start_cursor",
]
