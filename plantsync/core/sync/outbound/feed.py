"""What an outbound run looks at: the connection's mark in the change feed, the feed's next page
(without this connection's own inbound changes and changes before ``outbound_start_from``),
and the records whose last push has no recorded answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from plantsync.core.models.integration import (
    LinkState,
    SyncCursor,
    SyncTrigger,
)
from plantsync.core.services.changes import ChangeMark, changed_since
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.records import OUTBOUND_MODELS, eligible
from plantsync.entities import Direction

PAGE = 500


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


def in_window(ctx: RunContext, row: Any) -> bool:
    return bool(row.updated_at >= ctx.connection.outbound_start_from)


def rows_by_id(session: Session, ctx: RunContext, ids: Sequence[uuid.UUID]) -> list[Any]:
    """The tenant's rows of the run's entity with these ids (in the window, eligible)."""
    model: Any = OUTBOUND_MODELS[ctx.entity]
    found = session.exec(
        select(model).where(model.tenant_id == ctx.tenant_id, col(model.id).in_(list(ids)))
    ).all()
    return [r for r in found if in_window(ctx, r) and eligible(ctx.entity, r)]


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
    kept = [r for r in rows if in_window(ctx, r) and eligible(ctx.entity, r)]
    return kept, next_mark, len(rows) == PAGE


def unsettled_ids(session: Session, ctx: RunContext) -> list[uuid.UUID]:
    ids = links.unsettled(session, ctx.connection_id, ctx.entity)
    if ctx.trigger is not SyncTrigger.retry:
        by = links.by_local(session, ctx.connection_id, ctx.entity, ids)
        ids = [i for i in ids if by[i].state != LinkState.failed]
    return ids
