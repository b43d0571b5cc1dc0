"""Pushing one batch: links committed as ``sending`` first, then the bulk push, then each
record's result (ERP key, hash sent, or its error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plantsync.connectors.base import PushRecord, PushResult
from plantsync.core.models.integration import (
    ExternalLink,
    LinkState,
)
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.outbound.planning import OutboundItem
from plantsync.entities import Direction
from plantsync.errors import AmbiguousWriteError, RecordError


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
