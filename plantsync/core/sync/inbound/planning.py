"""What each pulled record does to the plant (create, update, deactivate, unchanged), found
through its link or the natural key (machines by code, work orders by number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from plantsync.connectors.base import ERPRecord
from plantsync.core.models.integration import ExternalLink, LinkState
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine
from plantsync.core.services.machines import find_machine_by_code
from plantsync.core.services.work_orders import find_work_order
from plantsync.core.sync import links
from plantsync.core.sync.context import RunContext
from plantsync.core.sync.inbound.repeats import record_digest
from plantsync.core.sync.records import machine_item, work_order_item
from plantsync.entities import EntityType
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import RecordMappingError, from_erp


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
        digest = (known.get(record.key) if known is not None else None) or record_digest(record)
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


def local_row(session: Session, ctx: RunContext, link: ExternalLink | None) -> Any:
    if link is None:
        return None
    return session.get(_model(ctx), link.local_id)


def by_natural_key(session: Session, ctx: RunContext, value: str) -> Any:
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
