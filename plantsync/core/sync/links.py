"""External links of one connection: lookups in bulk and writes (see ``ExternalLink``).

A link ties (connection, entity_type, local id) to an ERP key. The sync engine reads them in
bulk for a page of records (``by_local``, ``by_erp_key``), writes them inside the page's
short transaction (``put``), and finds the records whose last push has no recorded answer
(``unsettled``) so the next run reconciles them first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from plantsync.core.db import new_id
from plantsync.core.models.integration import ExternalLink, LinkState
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine, Site
from plantsync.core.sync.records import Refs
from plantsync.entities import Direction, EntityType

_CHUNK = 500
#: Push outcomes a later run must look at again (the answer is unknown, or the ERP refused).
UNSETTLED = (LinkState.sending, LinkState.unknown, LinkState.failed)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def by_local(
    session: Session, connection_id: uuid.UUID, entity: EntityType, local_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ExternalLink]:
    """The links of these local records (those that have one)."""
    ids = sorted(set(local_ids))
    found: dict[uuid.UUID, ExternalLink] = {}
    for part in _chunks(ids):
        rows = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == connection_id,
                ExternalLink.entity_type == entity,
                col(ExternalLink.local_id).in_(part),
            )
        ).all()
        found.update({link.local_id: link for link in rows})
    return found


def by_erp_key(
    session: Session, connection_id: uuid.UUID, entity: EntityType, keys: Iterable[str]
) -> dict[str, ExternalLink]:
    """The links of these ERP keys (those that have one)."""
    wanted = sorted(set(keys))
    found: dict[str, ExternalLink] = {}
    for part in _chunks(wanted):
        rows = session.exec(
            select(ExternalLink).where(
                ExternalLink.connection_id == connection_id,
                ExternalLink.entity_type == entity,
                col(ExternalLink.erp_key).in_(part),
            )
        ).all()
        found.update({link.erp_key: link for link in rows if link.erp_key is not None})
    return found


def unsettled(
    session: Session, connection_id: uuid.UUID, entity: EntityType, *, limit: int = 10_000
) -> list[uuid.UUID]:
    """Local ids whose last outbound push is unanswered or was refused (oldest first)."""
    return list(
        session.exec(
            select(ExternalLink.local_id)
            .where(
                ExternalLink.connection_id == connection_id,
                ExternalLink.entity_type == entity,
                ExternalLink.last_direction == Direction.outbound,
                col(ExternalLink.state).in_(UNSETTLED),
            )
            .order_by(col(ExternalLink.updated_at))
            .limit(limit)
        ).all()
    )


def put(
    session: Session,
    link: ExternalLink | None,
    *,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    entity: EntityType,
    local_id: uuid.UUID,
    now: datetime,
    **values: Any,
) -> ExternalLink:
    """Updates ``link`` (or creates the link of ``local_id``) with ``values``; added to the
    session, committed by the caller."""
    if link is None:
        link = ExternalLink(
            tenant_id=tenant_id,
            connection_id=connection_id,
            entity_type=entity,
            local_id=local_id,
            created_at=now,
            updated_at=now,
        )
    for name, value in values.items():
        setattr(link, name, value)
    link.updated_at = now
    session.add(link)
    return link


_OPTIONAL = {
    "erp_key": None, "reference": None, "state": LinkState.linked, "sent_hash": None,
    "sent_change_seq": None, "last_direction": None, "last_log_id": None, "error": None,
    "last_synced_at": None,
}  # fmt: skip


def insert_new(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    entity: EntityType,
    now: datetime,
    values: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """Inserts the links of local records that have none yet (local id -> the ``put`` values)
    with one executemany statement and no ORM objects: the inbound sync's bulk path."""
    if not values:
        return
    base = {
        "tenant_id": tenant_id, "connection_id": connection_id, "entity_type": entity,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    table: Any = ExternalLink.__table__  # type: ignore[attr-defined]
    session.execute(
        table.insert(),
        [
            {**_OPTIONAL, **row, **base, "id": new_id(), "local_id": local_id}
            for local_id, row in values.items()
        ],
    )


def erp_keys(
    session: Session, connection_id: uuid.UUID, entity: EntityType, local_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Local id -> ERP key for the linked ones (links without a key are left out)."""
    return {
        local: link.erp_key
        for local, link in by_local(session, connection_id, entity, local_ids).items()
        if link.erp_key is not None and link.state != LinkState.deleted
    }


def load_refs(
    session: Session, connection_id: uuid.UUID, entity: EntityType, rows: Sequence[Any]
) -> Refs:
    """What ``records.canonical_record`` needs for ``rows`` (links, machines, site codes)."""
    machine_ids = {r.machine_id for r in rows if getattr(r, "machine_id", None)}
    wo_ids = {r.work_order_id for r in rows if getattr(r, "work_order_id", None)}
    machines: dict[uuid.UUID, Machine] = {}
    for part in _chunks(sorted(machine_ids)):
        machines.update(
            {m.id: m for m in session.exec(select(Machine).where(col(Machine.id).in_(part)))}
        )
    site_ids = {m.site_id for m in machines.values() if m.site_id}
    if entity is EntityType.work_order:
        site_ids |= {r.site_id for r in rows if isinstance(r, WorkOrder) and r.site_id}
    sites: dict[uuid.UUID, str] = {}
    for part in _chunks(sorted(site_ids)):
        sites.update(
            {s.id: s.code for s in session.exec(select(Site).where(col(Site.id).in_(part)))}
        )
    numbers: dict[uuid.UUID, str] = {}
    for part in _chunks(sorted(wo_ids)):
        found = session.exec(
            select(WorkOrder.id, WorkOrder.number).where(col(WorkOrder.id).in_(part))
        )
        numbers.update({wo_id: number for wo_id, number in found})
    ref_links = {
        **by_local(session, connection_id, EntityType.machine, machine_ids),
        **by_local(session, connection_id, EntityType.work_order, wo_ids),
    }
    return Refs(
        machine_keys=_keys(ref_links, machine_ids),
        work_order_keys=_keys(ref_links, wo_ids),
        machines=machines,
        site_codes=sites,
        work_order_numbers=numbers,
        pulled={i for i, link in ref_links.items() if link.last_direction == Direction.inbound},
    )


def _keys(found: dict[uuid.UUID, ExternalLink], ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {
        i: link.erp_key
        for i, link in found.items()
        if i in ids and link.erp_key is not None and link.state != LinkState.deleted
    }


def site_codes(session: Session, tenant_id: uuid.UUID) -> set[str]:
    """The tenant's site codes (inbound records name sites by code)."""
    return set(session.exec(select(Site.code).where(Site.tenant_id == tenant_id)).all())


__all__ = [
    "UNSETTLED",
    "by_erp_key",
    "by_local",
    "erp_keys",
    "insert_new",
    "load_refs",
    "put",
    "site_codes",
    "unsettled",
]
