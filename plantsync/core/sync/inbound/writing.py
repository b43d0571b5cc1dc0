"""Writing one planned slice: the plant rows through the natural-key services, stamped with the
origin ``inbound_sync(connection)``, then their links (ERP key and hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from plantsync.core.models.integration import LinkState
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.machines import upsert_machines
from plantsync.core.services.plant_common import BulkOutcome
from plantsync.core.services.work_orders import upsert_work_orders
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.inbound.planning import InboundItem, by_natural_key, local_row
from plantsync.entities import Direction, EntityType


def apply(ctx: RunContext, items: Sequence[InboundItem]) -> None:
    """Writes one slice of planned records and their links (two short transactions)."""
    todo = [i for i in items if i.action in ("create", "update", "deactivate")]
    ctx.counts.skipped += len(items) - len(todo)
    if not todo:
        return
    origin = ChangeOrigin.inbound_sync(ctx.connection_id)
    with ctx.database.write_session() as session:
        _renames(session, ctx, todo, origin)
        upsert = upsert_machines if ctx.entity is EntityType.machine else upsert_work_orders
        payload = [{k: v for k, v in i.item.items() if not k.startswith("@")} for i in todo]
        result = upsert(
            session=session, tenant_id=ctx.tenant_id, items=payload, origin=origin, clock=ctx.clock
        )
    with ctx.database.write_session() as session:
        done: list[tuple[InboundItem, Any]] = []
        created: set[Any] = set()
        for item, outcome in zip(todo, result.results, strict=True):
            if outcome.outcome == BulkOutcome.failed or outcome.id is None:
                detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in outcome.errors.items())
                message = outcome.message or "refused by the plant model"
                ctx.fail_record(
                    "rejected",
                    f"{message}{' (' + detail + ')' if detail else ''}",
                    erp_key=item.erp_key,
                )
                continue
            done.append((item, outcome.id))
            if outcome.outcome == BulkOutcome.unchanged:
                ctx.counts.skipped += 1
            else:
                ctx.counts.written += 1
                if outcome.outcome == BulkOutcome.created:
                    ctx.counts.created += 1
                    created.add(outcome.id)
                else:
                    ctx.counts.updated += 1
        _link_all(session, ctx, done, created)


def _renames(
    session: Session, ctx: RunContext, items: Sequence[InboundItem], origin: ChangeOrigin
) -> None:
    """A linked record whose natural key changed in the ERP keeps its local row: rename it
    first (when the new key is free), so the natural-key upsert finds it."""
    natural = "code" if ctx.entity is EntityType.machine else "number"
    for item in items:
        old = item.item.get("@rename_from")
        new = item.item.get(natural)
        if not old or old == new or item.local_id is None:
            continue
        if not isinstance(new, str) or by_natural_key(session, ctx, new) is not None:
            item.item[natural] = old  # the new key is taken: keep ours, the link still holds
            continue
        row = local_row(session, ctx, item.link)
        if row is not None:
            setattr(row, natural, new)
            stamp_change(session, row, origin, clock=ctx.clock)
    session.flush()


def _link_all(
    session: Session,
    ctx: RunContext,
    done: Sequence[tuple[InboundItem, Any]],
    created: set[Any],
) -> None:
    """Stores the link (ERP key, hash) of each written record of the slice: the slice's links
    are read with one query by local id and one by ERP key; existing links are updated with
    one flush, new ones inserted with one statement.

    ``done`` holds each ERP key once (``dedupe`` runs before ``plan``); ``created`` the local
    ids the upsert has just created (they have no link to look up). A key whose link belongs to
    another local record moved: that old link loses the key (state ``deleted``)."""
    if not done:
        return
    now = ctx.now()
    conn, entity = ctx.connection_id, ctx.entity
    # a row the upsert just created has no link yet: only the others are looked up
    current = links.by_local(
        session, conn, entity, [local_id for _, local_id in done if local_id not in created]
    )
    moved = [(i, lid) for i, lid in done if i.link is None or i.link.local_id != lid]
    holders = links.by_erp_key(session, conn, entity, [i.erp_key for i, _ in moved])
    stale = [
        holders[i.erp_key]
        for i, lid in moved
        if i.erp_key in holders and holders[i.erp_key] is not current.get(lid)
    ]
    for link in stale:
        link.erp_key = None  # the ERP key moved to another local record
        link.state = LinkState.deleted
    if stale:
        session.flush()  # free the keys before the links below take them
    new: dict[Any, dict[str, Any]] = {}
    for item, local_id in done:
        values = {
            "erp_key": item.erp_key,
            "state": LinkState.deleted if item.action == "deactivate" else LinkState.linked,
            "sent_hash": item.hash, "last_direction": Direction.inbound,
            "last_log_id": ctx.log_id, "error": None, "last_synced_at": now,
        }  # fmt: skip
        existing = current.get(local_id)
        if existing is None:
            new[local_id] = values
        else:
            links.put(
                session, existing, tenant_id=ctx.tenant_id, connection_id=conn, entity=entity,
                local_id=local_id, now=now, **values,
            )  # fmt: skip
    session.flush()
    links.insert_new(
        session, tenant_id=ctx.tenant_id, connection_id=conn, entity=entity, now=now, values=new
    )
