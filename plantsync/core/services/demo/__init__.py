"""Demo data: a believable plant for a fresh install, built in one transaction in a few seconds.

Two sites in different time zones (Berlin and Chicago), 20 machines, weekday two-shift
schedules per site and a 24/7 oven, and the last seven days up to now: a production run per
machine and shift (the current shift's run still open), counts every 30 minutes, a break per
shift (planned stop), breakdowns and jams with reasons, failure modes and root causes, production
and maintenance work orders with labor and parts, and crew check-ins. The same seed gives the
same plant relative to "now". Every tracked row carries a change stamp from the system origin.

The fixed data is in ``catalog``; ``master`` builds the master data, ``history`` the week.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.plant import Machine
from plantsync.core.services.changes import stamp_change
from plantsync.core.services.demo.catalog import ORIGIN, PlantRows
from plantsync.core.services.demo.history import (
    add_machine_week,
    add_maintenance,
    set_machine_status,
)
from plantsync.core.services.demo.master import (
    add_libraries,
    add_machines,
    add_schedules,
    add_sites,
    add_spare_parts,
)


@dataclass
class DemoSummary:
    tenant_id: uuid.UUID
    counts: dict[str, int] = field(default_factory=dict)


def tenant_has_machines(*, session: Session, tenant_id: uuid.UUID) -> bool:
    return (
        session.exec(select(Machine.id).where(Machine.tenant_id == tenant_id).limit(1)).first()
        is not None
    )


def fill_demo(
    *, session: Session, tenant_id: uuid.UUID, clock: Clock = SYSTEM_CLOCK, seed: int = 7
) -> DemoSummary:
    """Fills ``tenant_id`` with the demo plant (see the module docstring) and commits."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo figures, not a secret
    now = clock.now().replace(microsecond=0)
    plant = PlantRows()
    add_libraries(plant, tenant_id, now)
    sites = add_sites(plant, tenant_id, now)
    parts = add_spare_parts(plant, tenant_id, sites, now)
    machines = add_machines(plant, tenant_id, sites, now)
    schedules = add_schedules(plant, tenant_id, sites, machines, now)
    for index, machine in enumerate(machines):
        add_machine_week(plant, rng, machine, index, sites, schedules, now)
        set_machine_status(plant, machine)
    add_maintenance(plant, rng, tenant_id, machines, sites, parts, now)
    _store(session, plant, clock)
    return DemoSummary(tenant_id, {table: len(rows) for table, rows in plant.rows.items()})


_ORDER = [
    "failure_mode", "root_cause", "site", "spare_part", "machine", "shift_schedule", "work_order",
    "production_run", "downtime_event", "cycle_submission", "crew_checkin", "machine_status_change",
    "work_order_labor", "work_order_part",
]  # fmt: skip
_TRACKED = {"machine", "work_order", "production_run", "downtime_event"}


def _store(session: Session, plant: PlantRows, clock: Clock) -> None:
    """Adds the rows table by table (parents first), stamping tracked ones, and commits."""
    for table in _ORDER:
        rows = plant.rows.get(table, [])
        for row in rows:
            if table in _TRACKED:
                stamp_change(session, row, ORIGIN, clock=clock)
        session.add_all(rows)
        session.flush()
    session.commit()


__all__ = ["DemoSummary", "fill_demo", "tenant_has_machines"]
