"""What each selected record needs: its mapped ERP fields, and whether their hash differs from
what was last sent (``ExternalLink.sent_hash``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from plantsync.connectors.base import Reconcile
from plantsync.core.models.integration import (
    ExternalLink,
    LinkState,
)
from plantsync.core.sync import links, references
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.hashing import record_hash
from plantsync.core.sync.records import Refs, canonical_record
from plantsync.entities import Direction
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import RecordMappingError, to_erp


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
            items.append(plan_row(ctx, row, refs, existing.get(row.id)))
        except RecordMappingError as exc:
            ctx.fail_record(exc.code, exc.message, local_id=row.id)
            if failed is not None:
                failed[row.id] = exc.message
    return items


def plan_row(ctx: RunContext, row: Any, refs: Refs, link: ExternalLink | None) -> OutboundItem:
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
