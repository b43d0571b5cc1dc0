"""Where an inbound pull starts and how far it got: the connection's delta token or change-date
watermark (less ``OVERLAP``), saved only after the last page's rows are committed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from plantsync.connectors.base import Cursor
from plantsync.core.models.integration import SyncCursor
from plantsync.core.sync.context import RunContext
from plantsync.entities import Direction

OVERLAP = timedelta(minutes=5)


def _cursor(session: Session, ctx: RunContext) -> SyncCursor | None:
    return session.exec(
        select(SyncCursor).where(
            SyncCursor.connection_id == ctx.connection_id,
            SyncCursor.entity_type == ctx.entity,
            SyncCursor.direction == Direction.inbound,
        )
    ).first()


def start_cursor(session: Session, ctx: RunContext) -> Cursor | None:
    """Where this pull starts (None: a full pull)."""
    if ctx.entity_id is not None:
        return None
    row = _cursor(session, ctx)
    if row is None or (row.watermark is None and not row.delta_token):
        return None
    watermark = row.watermark - OVERLAP if row.watermark else None
    return Cursor(watermark=watermark, delta_token=row.delta_token)


def save_cursor(ctx: RunContext, reached: Cursor, *, full: bool) -> None:
    """Advances the cursor (never backwards) once the pulled rows are committed."""
    if ctx.dry:
        return
    with ctx.database.write_session() as session:
        row = _cursor(session, ctx) or SyncCursor(
            tenant_id=ctx.tenant_id,
            connection_id=ctx.connection_id,
            entity_type=ctx.entity,
            direction=Direction.inbound,
            updated_at=ctx.now(),
        )
        if reached.watermark is not None:
            old = row.watermark
            row.watermark = max(old, reached.watermark) if old else reached.watermark
        row.delta_token = reached.delta_token
        if full:
            row.last_full_sync_at = ctx.now()
        row.last_log_id = ctx.log_id
        row.updated_at = ctx.now()
        session.add(row)
