"""Demo data: a believable plant for a fresh install, built in one transaction in a few seconds.

Two sites in different time zones (Berlin and Chicago), 20 machines, weekday two-shift
schedules per site and a 24/7 oven, and the last seven days up to now: a production run per
machine and shift (the current shift's run still open), counts every 30 minutes, a break per
shift (planned stop), breakdowns and jams with reasons, failure modes and root causes, production
and maintenance work orders with labor and parts, and crew check-ins. The same seed gives the
same plant relative to "now". Every tracked row carries a change stamp from the system origin.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import DowntimeEvent, DowntimeSource
from plantsync.core.models.maintenance import (
    FailureMode,
    RootCause,
    SparePart,
    WorkOrder,
    WorkOrderKind,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderStatus,
)
from plantsync.core.models.plant import Machine, MachineStatus, MachineStatusChange, Site
from plantsync.core.models.production import CycleSubmission, ProductionRun, RunStatus
from plantsync.core.models.workforce import CrewCheckIn, ShiftSchedule
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.intervals import Interval, intersect, seconds
from plantsync.core.services.shifts import ShiftOccurrence, ShiftPattern, occurrences

ORIGIN = ChangeOrigin.system("demo-data")
PERIOD = timedelta(minutes=30)
WEEKDAYS = "12345"

# code, name, type, manufacturer, model, ideal cycle time (s), product
_BERLIN = [
    ("PRESS-0{}", "Stamping press {}", "press", "Schuler", "MSP 400", 12.0, "BRK-4471"),
    ("CNC-0{}", "CNC machining center {}", "cnc", "DMG Mori", "DMU 65", 95.0, "HSG-2210"),
    ("WELD-0{}", "Welding cell {}", "welding", "KUKA", "KR 16", 40.0, "FRM-1180"),
    ("PACK-0{}", "Packing line {}", "packaging", "Bosch", "Pack 301", 3.0, "BOX-0090"),
]
_CHICAGO = [
    ("MOLD-0{}", "Injection molder {}", "molding", "Engel", "victory 200", 28.0, "CAP-7713"),
    (
        "ASSY-0{}",
        "Assembly station {}",
        "assembly",
        "Bosch Rexroth",
        "ActiveAssist",
        45.0,
        "KIT-3302",
    ),
    ("LASER-0{}", "Laser cutter {}", "laser", "Trumpf", "TruLaser 3030", 70.0, "PLT-5560"),
]
_PRODUCTS = {code.split("-")[0]: product for code, *_, product in (*_BERLIN, *_CHICAGO)}
_COUNTS = {"PRESS": 4, "CNC": 3, "WELD": 3, "PACK": 2, "MOLD": 4, "ASSY": 2, "LASER": 1}
_FAILURES = [
    ("BEARING", "Bearing failure"), ("HYD-LEAK", "Hydraulic leak"), ("SENSOR", "Sensor fault"),
    ("JAM", "Material jam"), ("TOOL-WEAR", "Tool wear"), ("ELECTRICAL", "Electrical fault"),
]  # fmt: skip
_CAUSES = [
    ("LUBRICATION", "Insufficient lubrication"), ("WEAR", "Normal wear"),
    ("OPERATOR", "Operator error"), ("MATERIAL", "Material out of spec"),
    ("CALIBRATION", "Calibration drift"), ("POWER", "Power quality"),
]  # fmt: skip
_UNPLANNED = ["BREAKDOWN", "JAM", "MATERIAL-SHORTAGE", "QUALITY-CHECK", "TOOL-CHANGE"]
# Short texts of the stops (ERPs want one: SAP's notification text is mandatory, 40 chars).
_STOP_TEXTS = {
    "BREAK": "Scheduled break", "BREAKDOWN": "Machine breakdown", "JAM": "Material jam",
    "MATERIAL-SHORTAGE": "Waiting for material", "QUALITY-CHECK": "Quality check",
    "TOOL-CHANGE": "Unplanned tool change",
}  # fmt: skip
# Cost centres as an ERP controlling area numbers them (SAP KOSTL: at most 10 characters):
# one per site (4xxx Berlin, 5xxx Chicago) and machine type.
_COST_CENTERS = {
    "press": "4110", "cnc": "4120", "welding": "4130", "packaging": "4140",
    "molding": "5110", "assembly": "5120", "laser": "5130", "oven": "5140",
}  # fmt: skip
_PARTS = [
    ("BRG-6205", "Deep groove ball bearing 6205", 40, 1850), ("SEAL-HY-32", "Hydraulic seal 32 mm", 25, 940),
    ("SNS-PROX-M12", "Proximity sensor M12", 12, 6400), ("FUSE-10A", "Fuse 10 A", 100, 120),
    ("NOZ-MOLD-4", "Molding nozzle 4 mm", 6, 21500), ("LNS-LASER-5", "Laser focus lens 5 in", 4, 38900),
    ("BELT-HTD-8M", "Timing belt HTD 8M", 10, 7300), ("OIL-ISO68", "Hydraulic oil ISO 68 (20 l)", 15, 8900),
]  # fmt: skip
_WORKERS = {
    "BER": ["Anna Schmidt", "Jonas Weber", "Lena Fischer", "Mehmet Yilmaz", "Sofia Wagner",
            "Paul Becker", "Marie Hoffmann", "Lukas Schulz", "Emma Koch", "Felix Richter",
            "Hannah Braun", "Tim Zimmermann"],
    "CHI": ["Maria Garcia", "James Johnson", "Aisha Williams", "Carlos Rodriguez",
            "Emily Brown", "Michael Davis", "Olivia Miller", "David Wilson"],
}  # fmt: skip


@dataclass
class DemoSummary:
    tenant_id: uuid.UUID
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Plant:
    """The rows being built, in insertion order by table."""

    rows: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, table: str, row: Any) -> Any:
        self.rows.setdefault(table, []).append(row)
        return row


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
    plant = _Plant()
    _libraries(plant, tenant_id, now)
    sites = _sites(plant, tenant_id, now)
    parts = _spare_parts(plant, tenant_id, sites, now)
    machines = _machines(plant, tenant_id, sites, now)
    schedules = _schedules(plant, tenant_id, sites, machines, now)
    for index, machine in enumerate(machines):
        _machine_week(plant, rng, machine, index, sites, schedules, now)
        _set_status(plant, machine)
    _maintenance(plant, rng, tenant_id, machines, sites, parts, now)
    _store(session, plant, clock)
    return DemoSummary(tenant_id, {table: len(rows) for table, rows in plant.rows.items()})


def _libraries(plant: _Plant, tenant_id: uuid.UUID, now: datetime) -> None:
    for code, name in _FAILURES:
        plant.add(
            "failure_mode", FailureMode(tenant_id=tenant_id, code=code, name=name, created_at=now)
        )
    for code, name in _CAUSES:
        plant.add(
            "root_cause", RootCause(tenant_id=tenant_id, code=code, name=name, created_at=now)
        )


def _sites(plant: _Plant, tenant_id: uuid.UUID, now: datetime) -> dict[str, Site]:
    specs = [
        ("BER", "Berlin stamping & assembly", "Europe/Berlin"),
        ("CHI", "Chicago molding", "America/Chicago"),
    ]
    return {
        code: plant.add(
            "site",
            Site(
                tenant_id=tenant_id,
                code=code,
                name=name,
                timezone=tz,
                created_at=now,
                updated_at=now,
            ),
        )
        for code, name, tz in specs
    }


def _spare_parts(
    plant: _Plant, tenant_id: uuid.UUID, sites: dict[str, Site], now: datetime
) -> list[SparePart]:
    out = []
    for i, (number, name, stock, price) in enumerate(_PARTS):
        site = sites["BER" if i % 2 == 0 else "CHI"]
        currency = "EUR" if site.code == "BER" else "USD"
        part = SparePart(
            tenant_id=tenant_id, site_id=site.id, part_number=number, name=name, stock=stock,
            min_stock=max(1, stock // 4), max_stock=stock * 2, unit_price_minor=price,
            currency=currency, location=f"{site.code}-STORE-{i + 1:02d}", created_at=now,
            updated_at=now,
        )  # fmt: skip
        out.append(plant.add("spare_part", part))
    return out


def _machines(
    plant: _Plant, tenant_id: uuid.UUID, sites: dict[str, Site], now: datetime
) -> list[Machine]:
    out = []
    for site_code, specs in (("BER", _BERLIN), ("CHI", _CHICAGO)):
        for code, name, kind, maker, model, ideal, _product in specs:
            for n in range(1, _COUNTS[code.split("-")[0]] + 1):
                out.append(
                    _machine(
                        plant,
                        tenant_id,
                        sites[site_code],
                        code.format(n),
                        name.format(n),
                        kind,
                        maker,
                        model,
                        ideal,
                        now,
                    )
                )
    oven = _machine(
        plant,
        tenant_id,
        sites["CHI"],
        "OVEN-01",
        "Curing oven 1",
        "oven",
        "Despatch",
        "LCC",
        120.0,
        now,
    )
    return [*out, oven]


def _machine(
    plant: _Plant, tenant_id: uuid.UUID, site: Site, code: str, name: str, kind: str,
    maker: str, model: str, ideal: float, now: datetime,
) -> Machine:  # fmt: skip
    machine = Machine(
        tenant_id=tenant_id, site_id=site.id, code=code, name=name, type=kind, manufacturer=maker,
        model=model, serial_number=f"{maker[:3].upper()}-{uuid.uuid5(uuid.NAMESPACE_DNS, code).hex[:8]}",
        cost_center=_COST_CENTERS[kind], ideal_cycle_time_s=ideal,
        status=MachineStatus.idle, status_since=now - timedelta(days=7), created_at=now,
    )  # fmt: skip
    plant.add("machine", machine)
    return machine


def _schedules(
    plant: _Plant,
    tenant_id: uuid.UUID,
    sites: dict[str, Site],
    machines: list[Machine],
    now: datetime,
) -> dict[uuid.UUID, list[ShiftPattern]]:
    """Site schedules, plus the oven's own 24/7 one; the patterns each site/machine works."""
    specs = [
        (sites["BER"].id, None, "Early", time(6), time(14), WEEKDAYS),
        (sites["BER"].id, None, "Late", time(14), time(22), WEEKDAYS),
        (sites["CHI"].id, None, "Day", time(7), time(15), WEEKDAYS),
        (sites["CHI"].id, None, "Swing", time(15), time(23), WEEKDAYS),
        (None, machines[-1].id, "Continuous", time(0), time(0), "1234567"),
    ]
    patterns: dict[uuid.UUID, list[ShiftPattern]] = {}
    for site_id, machine_id, name, start, end, days in specs:
        row = ShiftSchedule(
            tenant_id=tenant_id, site_id=site_id, machine_id=machine_id, name=name,
            start_time=start, end_time=end, weekdays=days, created_at=now, updated_at=now,
        )  # fmt: skip
        plant.add("shift_schedule", row)
        pattern = ShiftPattern(row.id, name, start, end, frozenset(int(d) for d in days))
        patterns.setdefault(site_id or machine_id, []).append(pattern)  # type: ignore[arg-type]
    return patterns


def _machine_week(
    plant: _Plant, rng: random.Random, machine: Machine, index: int, sites: dict[str, Site],
    schedules: dict[uuid.UUID, list[ShiftPattern]], now: datetime,
) -> None:  # fmt: skip
    site = next(s for s in sites.values() if s.id == machine.site_id)
    patterns = schedules.get(machine.id) or schedules[site.id]
    shifts = [
        o
        for o in occurrences(patterns, ZoneInfo(site.timezone), now - timedelta(days=7), now)
        if o.start < now - timedelta(minutes=20)
    ]
    product = _PRODUCTS.get(machine.code.split("-")[0], "CAP-7713")
    orders = _production_orders(plant, machine, site, product, shifts, now)
    for number, shift in enumerate(shifts):
        order = orders[0] if number < len(shifts) // 2 else orders[1]
        _shift_run(plant, rng, machine, site, order, shift, now)
        _crew(plant, rng, machine, site, shift, _worker(site, machine, index + number), now)


def _production_orders(
    plant: _Plant,
    machine: Machine,
    site: Site,
    product: str,
    shifts: list[ShiftOccurrence],
    now: datetime,
) -> list[WorkOrder]:
    half = max(1, len(shifts) // 2)
    ideal = machine.ideal_cycle_time_s or 60.0
    orders = []
    for n, chunk in enumerate((shifts[:half], shifts[half:])):
        planned_qty = int(sum((s.end - s.start).total_seconds() for s in chunk) / ideal * 0.85)
        done = n == 0
        wo = WorkOrder(
            tenant_id=machine.tenant_id, number=f"PO-{machine.code}-{n + 1:03d}", kind=WorkOrderKind.production,
            product_code=product, description=f"{product} on {machine.name}", quantity_planned=planned_qty,
            machine_id=machine.id, site_id=site.id, priority=3, currency="EUR" if site.code == "BER" else "USD",
            status=WorkOrderStatus.completed if done else WorkOrderStatus.in_progress,
            planned_start=chunk[0].start if chunk else now, planned_end=chunk[-1].end if chunk else now,
            actual_start=chunk[0].start if chunk else None, actual_end=chunk[-1].end if chunk and done else None,
            cost_center=machine.cost_center, created_at=now - timedelta(days=8),
        )  # fmt: skip
        orders.append(plant.add("work_order", wo))
    return orders


def _shift_run(
    plant: _Plant, rng: random.Random, machine: Machine, site: Site, order: WorkOrder,
    shift: ShiftOccurrence, now: datetime,
) -> None:  # fmt: skip
    start = shift.start + timedelta(minutes=rng.randint(0, 8))
    is_open = shift.end > now
    stop = now if is_open else shift.end - timedelta(minutes=rng.randint(0, 8))
    stops = _downtime(plant, rng, machine, order, start, stop, now, is_open)
    run = ProductionRun(
        tenant_id=machine.tenant_id, machine_id=machine.id, work_order_id=order.id, operation="0010",
        status=RunStatus.running if is_open else RunStatus.closed, started_at=start,
        stopped_at=None if is_open else stop, created_at=start,
    )  # fmt: skip
    plant.add("production_run", run)
    _counts(plant, rng, machine, run, start, stop, stops)
    if not is_open:
        run.downtime_s = seconds(intersect([(start, stop)], stops))
        run.run_time_s = (stop - start).total_seconds() - run.downtime_s
    order.quantity_good += run.good_count
    order.quantity_scrap += run.scrap_count
    if is_open and machine.status != MachineStatus.down:
        machine.status, machine.status_since = MachineStatus.running, start
    elif not is_open:
        machine.status_since = stop


def _downtime(
    plant: _Plant, rng: random.Random, machine: Machine, order: WorkOrder, start: datetime,
    stop: datetime, now: datetime, is_open: bool,
) -> list[Interval]:  # fmt: skip
    """A break mid-shift (planned) and 0-2 unplanned stops; returns the stop intervals."""
    events: list[tuple[datetime, datetime | None, bool, str]] = []
    lunch = start + timedelta(hours=4)
    if lunch + timedelta(minutes=30) < stop:
        events.append((lunch, lunch + timedelta(minutes=30), True, "BREAK"))
    for _ in range(rng.choice([0, 1, 1, 2])):
        begin = start + timedelta(
            minutes=rng.randint(20, max(21, int((stop - start).total_seconds() // 60) - 60))
        )
        end = begin + timedelta(minutes=rng.choice([4, 7, 12, 18, 25, 40, 65]))
        if end < stop and not (lunch <= begin <= lunch + timedelta(minutes=30)):
            events.append((begin, end, False, rng.choice(_UNPLANNED)))
    if is_open and rng.random() < 0.12:  # a machine that is down right now, its call still open
        events.append((now - timedelta(minutes=rng.randint(3, 15)), None, False, "BREAKDOWN"))
        machine.status, machine.status_since = MachineStatus.down, events[-1][0]
    for begin, ended, planned, reason in events:
        breakdown = reason == "BREAKDOWN"
        plant.add("downtime_event", DowntimeEvent(
            tenant_id=machine.tenant_id, machine_id=machine.id, work_order_id=order.id, started_at=begin,
            ended_at=ended, planned=planned, reason_code=reason,
            failure_mode=rng.choice(_FAILURES)[0] if breakdown else None,
            root_cause=rng.choice(_CAUSES)[0] if breakdown and ended is not None else None,
            source=DowntimeSource.manual if planned else rng.choice([DowntimeSource.andon, DowntimeSource.plc]),
            description=_STOP_TEXTS[reason], created_at=begin,
        ))  # fmt: skip
    return [(b, e or stop) for b, e, _, _ in events]


def _counts(
    plant: _Plant, rng: random.Random, machine: Machine, run: ProductionRun, start: datetime,
    stop: datetime, stops: list[Interval],
) -> None:  # fmt: skip
    ideal = machine.ideal_cycle_time_s or 60.0
    speed = rng.uniform(0.78, 0.97)
    scrap_rate = rng.uniform(0.005, 0.04)
    cursor = start
    while cursor < stop:
        end = min(cursor + PERIOD, stop)
        running = (end - cursor).total_seconds() - seconds(intersect([(cursor, end)], stops))
        total = int(running / ideal * speed * rng.uniform(0.93, 1.04))
        scrap = sum(1 for _ in range(min(total, 400)) if rng.random() < scrap_rate)
        plant.add("cycle_submission", CycleSubmission(
            tenant_id=machine.tenant_id, machine_id=machine.id, run_id=run.id, good_count=total - scrap,
            scrap_count=scrap, recorded_at=end, period_start=cursor,
            client_ref=f"{machine.code}-{int(end.timestamp())}", created_at=end,
        ))  # fmt: skip
        run.good_count += total - scrap
        run.scrap_count += scrap
        cursor = end


def _worker(site: Site, machine: Machine, slot: int) -> tuple[str, str]:
    """A worker of the site (code, name); machines of a site get distinct ones per shift."""
    if machine.type == "oven":
        return f"{site.code}-OVEN", "Oven crew"
    names = _WORKERS[site.code]
    i = slot % len(names)
    return f"{site.code}-{i + 101:04d}", names[i]


def _crew(
    plant: _Plant, rng: random.Random, machine: Machine, site: Site, shift: ShiftOccurrence,
    worker: tuple[str, str], now: datetime,
) -> None:  # fmt: skip
    plant.add("crew_checkin", CrewCheckIn(
        tenant_id=machine.tenant_id, machine_id=machine.id, worker_code=worker[0],
        worker_name=worker[1], hourly_rate_minor=rng.randrange(2600, 3600, 50),
        currency="EUR" if site.code == "BER" else "USD", checked_in_at=shift.start,
        checked_out_at=None if shift.end > now else shift.end, shift_schedule_id=shift.schedule_id,
        shift_name=shift.name, shift_date=shift.shift_date, created_at=shift.start,
    ))  # fmt: skip


def _set_status(plant: _Plant, machine: Machine) -> None:
    """The machine's current status interval (running, down or idle since its last run)."""
    plant.add("machine_status_change", MachineStatusChange(
        tenant_id=machine.tenant_id, machine_id=machine.id, status=machine.status,
        started_at=machine.status_since, reason="demo data",
    ))  # fmt: skip


def _maintenance(
    plant: _Plant, rng: random.Random, tenant_id: uuid.UUID, machines: list[Machine],
    sites: dict[str, Site], parts: list[SparePart], now: datetime,
) -> None:  # fmt: skip
    """Six maintenance orders with labor and parts (stock goes down, costs add up)."""
    for n, machine in enumerate(rng.sample(machines, 6)):
        currency = "EUR" if machine.site_id == sites["BER"].id else "USD"
        usable = [p for p in parts if p.currency == currency]
        when = now - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        wo = plant.add("work_order", WorkOrder(
            tenant_id=tenant_id, number=f"MO-{24000 + n}", kind=WorkOrderKind.maintenance,
            description=rng.choice(["Replace worn bearing", "Fix hydraulic leak", "Recalibrate sensor", "Preventive maintenance"]),
            machine_id=machine.id, site_id=machine.site_id, priority=rng.randint(1, 3), currency=currency,
            status=WorkOrderStatus.closed if n < 4 else WorkOrderStatus.in_progress, actual_start=when,
            actual_end=when + timedelta(hours=3) if n < 4 else None, cost_center=machine.cost_center,
            created_at=when - timedelta(hours=1),
        ))  # fmt: skip
        for worker in rng.sample(["Tech A. Novak", "Tech R. Silva", "Tech K. Tanaka"], 2):
            hours, rate = rng.choice([1.0, 1.5, 2.0, 3.0]), rng.randrange(4200, 5600, 100)
            plant.add("work_order_labor", WorkOrderLabor(
                tenant_id=tenant_id, work_order_id=wo.id, worker=worker, hours=hours, rate_minor=rate,
                currency=currency, cost_minor=round(hours * rate), performed_at=when, created_at=when,
            ))  # fmt: skip
            wo.labor_cost_minor += round(hours * rate)
        part = rng.choice(usable)
        qty = min(part.stock, rng.randint(1, 3))
        part.stock -= qty
        plant.add("work_order_part", WorkOrderPart(
            tenant_id=tenant_id, work_order_id=wo.id, spare_part_id=part.id, quantity=qty,
            unit_price_minor=part.unit_price_minor, currency=currency,
            cost_minor=qty * part.unit_price_minor, created_at=when,
        ))  # fmt: skip
        wo.parts_cost_minor += qty * part.unit_price_minor


_ORDER = [
    "failure_mode", "root_cause", "site", "spare_part", "machine", "shift_schedule", "work_order",
    "production_run", "downtime_event", "cycle_submission", "crew_checkin", "machine_status_change",
    "work_order_labor", "work_order_part",
]  # fmt: skip
_TRACKED = {"machine", "work_order", "production_run", "downtime_event"}


def _store(session: Session, plant: _Plant, clock: Clock) -> None:
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
