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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from plantsync.connectors.base import Cursor, ERPRecord
from plantsync.core.models.integration import ExternalLink, LinkState, SyncCursor
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.machines import find_machine_by_code, upsert_machines
from plantsync.core.services.plant_common import BulkOutcome
from plantsync.core.services.work_orders import find_work_order, upsert_work_orders
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.hashing import record_hash
from plantsync.core.sync.prefetch import read_ahead
from plantsync.core.sync.records import machine_item, work_order_item
from plantsync.entities import Direction, EntityType
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import RecordMappingError, from_erp

OVERLAP = timedelta(minutes=5)
SLICE = 250


@dataclass
class InboundItem:
    """What a record does to the plant: ``create``, ``update``, ``deactivate``, ``unchanged``
    (same hash as last written) or ``unknown_deleted`` (a deletion of a record never seen)."""

    erp_key: str
    action: str
    hash: str
    item: dict[str, Any] = field(default_factory=dict)
    link: ExternalLink | None = None
    local_id: Any = None

    def describe(self) -> dict[str, Any]:
        return {"erp_key": self.erp_key, "action": self.action, "record": self.item}


# --- cursor ----------------------------------------------------------------------------------


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


# --- planning --------------------------------------------------------------------------------


def _hash(record: ERPRecord) -> str:
    return record_hash({"@deleted": record.deleted, **dict(record.fields)})


def plan(
    session: Session,
    ctx: RunContext,
    records: Sequence[ERPRecord],
    digests: Mapping[str, str] | None = None,
) -> list[InboundItem]:
    """What each record would do (mapping failures are recorded on ``ctx`` and left out).

    ``digests`` holds the records' hashes where ``dedupe`` computed them already. The slice's
    links, linked rows and rows matching by natural key are each read with one query for the
    whole slice."""
    by_key = links.by_erp_key(session, ctx.connection_id, ctx.entity, [r.key for r in records])
    sites = links.site_codes(session, ctx.tenant_id)
    machine_codes = (
        _machine_codes(session, ctx, records) if ctx.entity is EntityType.work_order else {}
    )
    local_rows = _rows_by_id(session, ctx, [link.local_id for link in by_key.values()])
    known = digests  # not ``digests or {}``: that would take the mapping's length per record
    out = []
    for record in records:
        link = by_key.get(record.key)
        digest = (known.get(record.key) if known is not None else None) or _hash(record)
        if link is not None and link.sent_hash == digest and link.state != LinkState.failed:
            out.append(
                InboundItem(record.key, "unchanged", digest, link=link, local_id=link.local_id)
            )
            continue
        local = local_rows.get(link.local_id) if link is not None else None
        try:
            out.append(_plan_record(ctx, record, digest, link, local, sites, machine_codes))
        except RecordMappingError as exc:
            ctx.fail_record(exc.code, exc.message, erp_key=record.key)
    _match_natural_keys(session, ctx, [i for i in out if i.action == "create"])
    return out


def _plan_record(
    ctx: RunContext,
    record: ERPRecord,
    digest: str,
    link: ExternalLink | None,
    local: Any,
    sites: set[str],
    machine_codes: dict[str, str],
) -> InboundItem:
    """The item of one record; ``create`` until ``_match_natural_keys`` finds its row."""
    if record.deleted and (not record.fields or local is not None):
        if local is None:
            return InboundItem(record.key, "unknown_deleted", digest, link=link)
        return InboundItem(
            record.key, "deactivate", digest, _deactivation(ctx, local), link, local.id
        )
    canonical = from_erp(ctx.mapping, record.fields, Context())
    if ctx.entity is EntityType.machine:
        item = machine_item(canonical, erp_key=record.key, known_sites=sites)
        if record.deleted:
            item["is_active"] = False
    else:
        item = work_order_item(
            canonical, erp_key=record.key, machine_codes=machine_codes, known_sites=sites
        )
        if record.deleted:
            item["status"] = "cancelled"
    if local is not None:
        item["@rename_from"] = getattr(local, _natural(ctx))
        return InboundItem(record.key, "update", digest, item, link, local.id)
    return InboundItem(record.key, "create", digest, item, link)


def _match_natural_keys(session: Session, ctx: RunContext, items: Sequence[InboundItem]) -> None:
    """Unlinked records whose natural key exists locally update that row (one query)."""
    natural = _natural(ctx)
    found = _rows_by_natural_key(session, ctx, [i.item[natural] for i in items])
    for item in items:
        row = found.get(item.item[natural])
        if row is not None:
            item.action, item.local_id = "update", row.id


def _natural(ctx: RunContext) -> str:
    return "code" if ctx.entity is EntityType.machine else "number"


def _model(ctx: RunContext) -> Any:
    return Machine if ctx.entity is EntityType.machine else WorkOrder


def _rows_by_id(session: Session, ctx: RunContext, ids: Sequence[Any]) -> dict[Any, Any]:
    if not ids:
        return {}
    model = _model(ctx)
    rows = session.execute(select(model).where(model.id.in_(sorted(set(ids))))).scalars()
    return {row.id: row for row in rows}


def _rows_by_natural_key(
    session: Session, ctx: RunContext, values: Sequence[Any]
) -> dict[Any, Any]:
    wanted = sorted({v for v in values if isinstance(v, str)})
    if not wanted:
        return {}
    model = _model(ctx)
    column = getattr(model, _natural(ctx))
    rows = session.execute(
        select(model).where(model.tenant_id == ctx.tenant_id, column.in_(wanted))
    ).scalars()
    return {getattr(row, _natural(ctx)): row for row in rows}


def _local_row(session: Session, ctx: RunContext, link: ExternalLink | None) -> Any:
    if link is None:
        return None
    return session.get(_model(ctx), link.local_id)


def _by_natural_key(session: Session, ctx: RunContext, value: str) -> Any:
    if ctx.entity is EntityType.machine:
        return find_machine_by_code(session=session, tenant_id=ctx.tenant_id, code=value)
    return find_work_order(session=session, tenant_id=ctx.tenant_id, number=value)


def _deactivation(ctx: RunContext, local: Any) -> dict[str, Any]:
    if ctx.entity is EntityType.machine:
        return {"code": local.code, "name": local.name, "is_active": False}
    return {"number": local.number, "status": "cancelled"}


def _machine_codes(
    session: Session, ctx: RunContext, records: Sequence[ERPRecord]
) -> dict[str, str]:
    field_name = ctx.mapping.fields.get("machine_id")
    keys = {str(r.fields[field_name]) for r in records if field_name and r.fields.get(field_name)}
    found = links.by_erp_key(session, ctx.connection_id, EntityType.machine, keys)
    ids = {link.local_id: key for key, link in found.items()}
    if not ids:
        return {}
    rows = session.exec(
        select(Machine.id, Machine.code).where(col(Machine.id).in_(list(ids)))
    ).all()
    return {ids[mid]: code for mid, code in rows}


# --- writing ---------------------------------------------------------------------------------


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
        if not isinstance(new, str) or _by_natural_key(session, ctx, new) is not None:
            item.item[natural] = old  # the new key is taken: keep ours, the link still holds
            continue
        row = _local_row(session, ctx, item.link)
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


# --- the run ---------------------------------------------------------------------------------


class RecentHashes(MutableMapping[str, str]):
    """ERP key -> hash of the records this run handled lately: what ``dedupe`` needs to drop a
    record that a page repeats from the pages just before it (paging overlap), bounded in
    memory whatever the size of the pull — two generations of at most ``size`` keys each (a
    whole run's keys cost ~250 bytes each: 250 MB at 1,000,000 records). A repeat from further
    back is still not written twice: its link holds the same hash, so ``plan`` finds it
    unchanged."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._new: dict[str, str] = {}
        self._old: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key in self._new:
            return self._new[key]
        return self._old[key]

    def __setitem__(self, key: str, digest: str) -> None:
        self._new[key] = digest
        if len(self._new) >= self._size:
            self._old, self._new = self._new, {}

    def __delitem__(self, key: str) -> None:
        found = False
        for generation in (self._new, self._old):
            if key in generation:
                del generation[key]
                found = True
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self._new
        yield from (k for k in self._old if k not in self._new)

    def __len__(self) -> int:  # O(size): not for hot paths
        return len(self._new) + sum(1 for k in self._old if k not in self._new)

    def __bool__(self) -> bool:
        return bool(self._new or self._old)


def dedupe(records: Sequence[ERPRecord], seen: MutableMapping[str, str]) -> list[ERPRecord]:
    """The records of a page, once per key (the last wins), without those already handled in
    this run with the same content."""
    last: dict[str, ERPRecord] = {}
    for record in records:
        last.pop(record.key, None)
        last[record.key] = record
    fresh = []
    for key, record in last.items():
        digest = _hash(record)
        if seen.get(key) != digest:
            fresh.append(record)
            seen[key] = digest
    return fresh


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
