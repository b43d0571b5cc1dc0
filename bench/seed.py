"""Plant data for the outbound benchmarks: work orders on machines an inbound sync brought in,
written in chunks with the product's own change stamping (so the outbound change feed and
hashes see exactly what an API write would leave)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from plantsync.core.db import Database
from plantsync.core.models.integration import ExternalLink, LinkState
from plantsync.core.models.maintenance import WorkOrder, WorkOrderKind, WorkOrderStatus
from plantsync.core.models.plant import Machine, Site
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.entities import EntityType

ORIGIN = ChangeOrigin.system("bench")
BASE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
CHUNK = 2000


def linked_machines(
    db: Database, connection_id: uuid.UUID, n: int
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """(machine id, site id) of up to ``n`` active machines the connection brought in."""
    with db.read_session() as s:
        rows = s.exec(
            select(Machine.id, Machine.site_id)
            .join(ExternalLink, col(Machine.id) == col(ExternalLink.local_id))
            .where(
                ExternalLink.connection_id == connection_id,
                ExternalLink.entity_type == EntityType.machine,
                ExternalLink.state == LinkState.linked,
                col(Machine.is_active).is_(True),
            )
            .limit(n)
        ).all()
    return [(r[0], r[1]) for r in rows]


def seed_work_orders(db: Database, tenant_id: uuid.UUID, connection_id: uuid.UUID, n: int) -> None:
    machines = linked_machines(db, connection_id, 200)
    if not machines:
        raise RuntimeError("no linked machines: run an inbound machine sync first")
    site = _ensure_site(db, tenant_id)
    batch = uuid.uuid4().hex[:6].upper()  # the ERP keeps earlier runs' orders: new numbers
    for start in range(0, n, CHUNK):
        with db.write_session() as s:
            for i in range(start, min(n, start + CHUNK)):
                machine_id, _ = machines[i % len(machines)]
                wo = WorkOrder(
                    tenant_id=tenant_id, number=f"PS{batch}{i:07d}", kind=WorkOrderKind.maintenance,
                    description=f"Replace bearing {i}", priority=1 + i % 4, machine_id=machine_id,
                    site_id=site, status=WorkOrderStatus.released,
                    planned_start=BASE + timedelta(minutes=i),
                    planned_end=BASE + timedelta(minutes=i + 120),
                )  # fmt: skip
                stamp_change(s, wo, ORIGIN)


def _ensure_site(db: Database, tenant_id: uuid.UUID, code: str = "1010") -> uuid.UUID:
    """The plant (site) the work orders belong to: the ERPs need its code (SAP plant, Oracle
    organization)."""
    with db.write_session() as s:
        site = s.exec(select(Site).where(Site.tenant_id == tenant_id, Site.code == code)).first()
        if site is None:
            site = Site(tenant_id=tenant_id, code=code, name=f"Plant {code}")
            s.add(site)
        return site.id


def touch_work_orders(db: Database, tenant_id: uuid.UUID, fraction: float) -> int:
    """Changes the description of every ``1/fraction``-th work order; returns how many."""
    step = max(1, round(1 / fraction))
    with db.read_session() as s:
        ids = s.exec(
            select(WorkOrder.id)
            .where(WorkOrder.tenant_id == tenant_id)
            .order_by(col(WorkOrder.number))
        ).all()
    chosen = ids[::step]
    for start in range(0, len(chosen), CHUNK):
        with db.write_session() as s:
            for wo_id in chosen[start : start + CHUNK]:
                wo = s.get(WorkOrder, wo_id)
                assert wo is not None
                wo.description = f"{wo.description} (revised)"
                stamp_change(s, wo, ORIGIN)
    return len(chosen)
