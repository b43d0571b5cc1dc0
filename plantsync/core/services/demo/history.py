"""The demo plant's last seven days: production orders and runs per machine and shift, counts,
planned and unplanned stops, crew check-ins, the machines' status, maintenance work orders.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from plantsync.core.models.downtime import DowntimeEvent, DowntimeSource
from plantsync.core.models.maintenance import (
    SparePart,
    WorkOrder,
    WorkOrderKind,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderStatus,
)
from plantsync.core.models.plant import Machine, MachineStatus, MachineStatusChange, Site
from plantsync.core.models.production import CycleSubmission, ProductionRun, RunStatus
from plantsync.core.models.workforce import CrewCheckIn
from plantsync.core.services.demo.catalog import (
    CAUSES,
    FAILURES,
    PERIOD,
    PRODUCTS,
    STOP_TEXTS,
    UNPLANNED,
    WORKERS,
    PlantRows,
)
from plantsync.core.services.intervals import Interval, intersect, seconds
from plantsync.core.services.shifts import ShiftOccurrence, ShiftPattern, occurrences


def add_machine_week(
    plant: PlantRows, rng: random.Random, machine: Machine, index: int, sites: dict[str, Site],
    schedules: dict[uuid.UUID, list[ShiftPattern]], now: datetime,
) -> None:  # fmt: skip
    site = next(s for s in sites.values() if s.id == machine.site_id)
    patterns = schedules.get(machine.id) or schedules[site.id]
    shifts = [
        o
        for o in occurrences(patterns, ZoneInfo(site.timezone), now - timedelta(days=7), now)
        if o.start < now - timedelta(minutes=20)
    ]
    product = PRODUCTS.get(machine.code.split("-")[0], "CAP-7713")
    orders = _production_orders(plant, machine, site, product, shifts, now)
    for number, shift in enumerate(shifts):
        order = orders[0] if number < len(shifts) // 2 else orders[1]
        _shift_run(plant, rng, machine, site, order, shift, now)
        _crew(plant, rng, machine, site, shift, _worker(site, machine, index + number), now)


def _production_orders(
    plant: PlantRows,
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
    plant: PlantRows, rng: random.Random, machine: Machine, site: Site, order: WorkOrder,
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
    plant: PlantRows, rng: random.Random, machine: Machine, order: WorkOrder, start: datetime,
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
            events.append((begin, end, False, rng.choice(UNPLANNED)))
    if is_open and rng.random() < 0.12:  # a machine that is down right now, its call still open
        events.append((now - timedelta(minutes=rng.randint(3, 15)), None, False, "BREAKDOWN"))
        machine.status, machine.status_since = MachineStatus.down, events[-1][0]
    for begin, ended, planned, reason in events:
        breakdown = reason == "BREAKDOWN"
        plant.add("downtime_event", DowntimeEvent(
            tenant_id=machine.tenant_id, machine_id=machine.id, work_order_id=order.id, started_at=begin,
            ended_at=ended, planned=planned, reason_code=reason,
            failure_mode=rng.choice(FAILURES)[0] if breakdown else None,
            root_cause=rng.choice(CAUSES)[0] if breakdown and ended is not None else None,
            source=DowntimeSource.manual if planned else rng.choice([DowntimeSource.andon, DowntimeSource.plc]),
            description=STOP_TEXTS[reason], created_at=begin,
        ))  # fmt: skip
    return [(b, e or stop) for b, e, _, _ in events]


def _counts(
    plant: PlantRows, rng: random.Random, machine: Machine, run: ProductionRun, start: datetime,
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
    names = WORKERS[site.code]
    i = slot % len(names)
    return f"{site.code}-{i + 101:04d}", names[i]


def _crew(
    plant: PlantRows, rng: random.Random, machine: Machine, site: Site, shift: ShiftOccurrence,
    worker: tuple[str, str], now: datetime,
) -> None:  # fmt: skip
    plant.add("crew_checkin", CrewCheckIn(
        tenant_id=machine.tenant_id, machine_id=machine.id, worker_code=worker[0],
        worker_name=worker[1], hourly_rate_minor=rng.randrange(2600, 3600, 50),
        currency="EUR" if site.code == "BER" else "USD", checked_in_at=shift.start,
        checked_out_at=None if shift.end > now else shift.end, shift_schedule_id=shift.schedule_id,
        shift_name=shift.name, shift_date=shift.shift_date, created_at=shift.start,
    ))  # fmt: skip


def set_machine_status(plant: PlantRows, machine: Machine) -> None:
    """The machine's current status interval (running, down or idle since its last run)."""
    plant.add("machine_status_change", MachineStatusChange(
        tenant_id=machine.tenant_id, machine_id=machine.id, status=machine.status,
        started_at=machine.status_since, reason="demo data",
    ))  # fmt: skip


def add_maintenance(
    plant: PlantRows, rng: random.Random, tenant_id: uuid.UUID, machines: list[Machine],
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
