"""The demo plant's master data: failure modes and root causes, sites, spare parts, machines
and their shift schedules.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from plantsync.core.models.maintenance import (
    FailureMode,
    RootCause,
    SparePart,
)
from plantsync.core.models.plant import Machine, MachineStatus, Site
from plantsync.core.models.workforce import ShiftSchedule
from plantsync.core.services.demo.catalog import (
    BERLIN,
    CAUSES,
    CHICAGO,
    COST_CENTERS,
    COUNTS,
    FAILURES,
    PARTS,
    WEEKDAYS,
    PlantRows,
)
from plantsync.core.services.shifts import ShiftPattern


def add_libraries(plant: PlantRows, tenant_id: uuid.UUID, now: datetime) -> None:
    for code, name in FAILURES:
        plant.add(
            "failure_mode", FailureMode(tenant_id=tenant_id, code=code, name=name, created_at=now)
        )
    for code, name in CAUSES:
        plant.add(
            "root_cause", RootCause(tenant_id=tenant_id, code=code, name=name, created_at=now)
        )


def add_sites(plant: PlantRows, tenant_id: uuid.UUID, now: datetime) -> dict[str, Site]:
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


def add_spare_parts(
    plant: PlantRows, tenant_id: uuid.UUID, sites: dict[str, Site], now: datetime
) -> list[SparePart]:
    out = []
    for i, (number, name, stock, price) in enumerate(PARTS):
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


def add_machines(
    plant: PlantRows, tenant_id: uuid.UUID, sites: dict[str, Site], now: datetime
) -> list[Machine]:
    out = []
    for site_code, specs in (("BER", BERLIN), ("CHI", CHICAGO)):
        for code, name, kind, maker, model, ideal, _product in specs:
            for n in range(1, COUNTS[code.split("-")[0]] + 1):
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
    plant: PlantRows, tenant_id: uuid.UUID, site: Site, code: str, name: str, kind: str,
    maker: str, model: str, ideal: float, now: datetime,
) -> Machine:  # fmt: skip
    machine = Machine(
        tenant_id=tenant_id, site_id=site.id, code=code, name=name, type=kind, manufacturer=maker,
        model=model, serial_number=f"{maker[:3].upper()}-{uuid.uuid5(uuid.NAMESPACE_DNS, code).hex[:8]}",
        cost_center=COST_CENTERS[kind], ideal_cycle_time_s=ideal,
        status=MachineStatus.idle, status_since=now - timedelta(days=7), created_at=now,
    )  # fmt: skip
    plant.add("machine", machine)
    return machine


def add_schedules(
    plant: PlantRows,
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
