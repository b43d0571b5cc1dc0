"""Plant data and comparisons for the sync tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from plantsync.core.db import Database
from plantsync.core.models.downtime import DowntimeEvent, DowntimeSource
from plantsync.core.models.integration import ExternalLink, LinkState
from plantsync.core.models.maintenance import WorkOrder, WorkOrderKind, WorkOrderStatus
from plantsync.core.models.plant import Machine, Site
from plantsync.core.models.production import ProductionRun, RunStatus
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.entities import EntityType

USER = ChangeOrigin.system("test-user")
# Reasons the default mappings know (SAP maps them to its 4-character coding codes).
REASONS = ("BREAK", "BREAKDOWN", "JAM", "TOOL-CHANGE", "QUALITY-CHECK")
BASE = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def ensure_site(db: Database, tenant_id: uuid.UUID, code: str = "1010") -> Site:
    with db.write_session() as s:
        site = s.exec(select(Site).where(Site.tenant_id == tenant_id, Site.code == code)).first()
        if site is None:
            site = Site(tenant_id=tenant_id, code=code, name=f"Plant {code}")
            s.add(site)
    return site


def linked_machines(db: Database, connection_id: uuid.UUID, n: int) -> list[uuid.UUID]:
    """Local ids of ``n`` active machines linked to the connection (brought in by inbound)."""
    with db.read_session() as s:
        rows = s.exec(
            select(ExternalLink.local_id)
            .join(Machine, col(Machine.id) == col(ExternalLink.local_id))
            .where(
                ExternalLink.connection_id == connection_id,
                ExternalLink.entity_type == EntityType.machine,
                ExternalLink.state == LinkState.linked,
                col(Machine.is_active).is_(True),
            )
            .order_by(col(Machine.code))
            .limit(n)
        ).all()
    return list(rows)


def make_work_orders(
    db: Database, tenant_id: uuid.UUID, machines: list[uuid.UUID], n: int, *, site: Site
) -> list[uuid.UUID]:
    ids = []
    with db.write_session() as s:
        for i in range(n):
            wo = WorkOrder(
                tenant_id=tenant_id,
                number=f"PS-{uuid.uuid4().hex[:10].upper()}",
                kind=WorkOrderKind.maintenance,
                description=f"Replace bearing {i}",
                priority=1 + i % 4,
                machine_id=machines[i % len(machines)],
                site_id=site.id,
                status=WorkOrderStatus.released,
                planned_start=BASE + timedelta(hours=i),
                planned_end=BASE + timedelta(hours=i + 2),
            )
            stamp_change(s, wo, USER)
            ids.append(wo.id)
    return ids


def make_downtime(
    db: Database, tenant_id: uuid.UUID, machines: list[uuid.UUID], n: int
) -> list[uuid.UUID]:
    ids = []
    with db.write_session() as s:
        for i in range(n):
            start = BASE + timedelta(hours=i)
            event = DowntimeEvent(
                tenant_id=tenant_id,
                machine_id=machines[i % len(machines)],
                started_at=start,
                ended_at=start + timedelta(minutes=15 + i % 30),
                reason_code=REASONS[i % len(REASONS)],
                planned=i % 3 == 0,
                source=DowntimeSource.andon,
                description=f"Stop {i}",
            )
            stamp_change(s, event, USER)
            ids.append(event.id)
    return ids


def make_runs(
    db: Database,
    tenant_id: uuid.UUID,
    machines: list[uuid.UUID],
    work_orders: list[uuid.UUID],
    n: int,
) -> list[uuid.UUID]:
    ids = []
    with db.write_session() as s:
        for i in range(n):
            start = BASE + timedelta(hours=i)
            run = ProductionRun(
                tenant_id=tenant_id,
                machine_id=machines[i % len(machines)],
                work_order_id=work_orders[i % len(work_orders)],
                operation="0010",
                status=RunStatus.closed,
                started_at=start,
                stopped_at=start + timedelta(minutes=50),
                good_count=100 + i,
                scrap_count=i % 4,
                run_time_s=2700.0,
                downtime_s=300.0,
            )
            stamp_change(s, run, USER)
            ids.append(run.id)
    return ids


def touch(db: Database, model: Any, ids: list[uuid.UUID], **values: Any) -> None:
    """Changes ``values`` on these rows as a user would (a new change in the feed)."""
    with db.write_session() as s:
        for row_id in ids:
            row = s.get(model, row_id)
            for k, v in values.items():
                setattr(row, k, v(row) if callable(v) else v)
            stamp_change(s, row, USER)


def links_of(db: Database, connection_id: uuid.UUID, entity: EntityType) -> list[ExternalLink]:
    with db.read_session() as s:
        return list(
            s.exec(
                select(ExternalLink).where(
                    ExternalLink.connection_id == connection_id,
                    ExternalLink.entity_type == entity,
                )
            ).all()
        )
