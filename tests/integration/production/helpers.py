"""Plant rows for production tests, written straight to the database."""

from __future__ import annotations

import uuid
from datetime import datetime

from plantsync.core.db import Database
from plantsync.core.models.downtime import DowntimeEvent, DowntimeSource
from plantsync.core.models.plant import Machine, Site


def make_site(db: Database, tenant_id: uuid.UUID, timezone: str = "Europe/Berlin") -> Site:
    site = Site(
        tenant_id=tenant_id, code=f"S-{uuid.uuid4().hex[:6]}", name="Plant", timezone=timezone
    )
    with db.write_session() as s:
        s.add(site)
    return site


def make_machine(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    site_id: uuid.UUID | None = None,
    ideal_cycle_time_s: float | None = 30.0,
) -> Machine:
    machine = Machine(
        tenant_id=tenant_id,
        site_id=site_id,
        code=f"M-{uuid.uuid4().hex[:6]}",
        name="Press",
        ideal_cycle_time_s=ideal_cycle_time_s,
    )
    with db.write_session() as s:
        s.add(machine)
    return machine


def make_downtime(
    db: Database,
    machine: Machine,
    start: datetime,
    end: datetime | None,
    *,
    planned: bool = False,
    reason: str = "JAM",
) -> DowntimeEvent:
    event = DowntimeEvent(
        tenant_id=machine.tenant_id,
        machine_id=machine.id,
        started_at=start,
        ended_at=end,
        planned=planned,
        reason_code=reason,
        source=DowntimeSource.manual,
    )
    with db.write_session() as s:
        s.add(event)
    return event
