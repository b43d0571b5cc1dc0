"""Request and response examples the plant routers show in ``/docs``."""

from __future__ import annotations

# The shared helpers, re-exported for the plant routers.
from plantsync.api.docs import answers as answers
from plantsync.api.docs import body as body
from plantsync.api.docs import page as page

ID = "0b6f3c1e-7a52-4d1b-9a57-3f7c2b9d1e01"
SITE_ID = "5d2f8f0a-1c3b-4e8e-9b1a-2a6c4e8f0b12"
MACHINE_ID = "8e4f2a6b-3c1d-4f5e-8a9b-7c6d5e4f3a21"
WO_ID = "c3a1b2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
T0 = "2026-03-02T06:00:00Z"
T1 = "2026-03-02T06:42:00Z"


SITE = {"id": SITE_ID, "code": "HAM", "name": "Hamburg plant", "timezone": "Europe/Berlin",
        "created_at": T0, "updated_at": T0}  # fmt: skip

MACHINE = {
    "id": MACHINE_ID, "code": "PRESS-01", "name": "Press line 1", "type": "press",
    "manufacturer": "Schuler", "model": "MSD 800", "serial_number": "SN-4711",
    "cost_center": "CC-4100", "ideal_cycle_time_s": 2.5, "is_active": True, "site_id": SITE_ID,
    "status": "running", "status_since": T0, "created_at": T0, "updated_at": T0,
    "origin_kind": "user",
}  # fmt: skip
MACHINE_IN = {k: MACHINE[k] for k in ("code", "name", "type", "manufacturer", "model",
              "serial_number", "cost_center", "ideal_cycle_time_s")} | {"site_code": "HAM"}  # fmt: skip

STATUS = {"machine_id": MACHINE_ID, "code": "PRESS-01", "name": "Press line 1",
          "site_id": SITE_ID, "status": "down", "since": T0, "duration_s": 2520.0}  # fmt: skip

WORK_ORDER = {
    "id": WO_ID, "number": "WO-100234", "kind": "maintenance", "product_code": None,
    "description": "Replace hydraulic seal", "quantity_planned": 0, "quantity_good": 0,
    "quantity_scrap": 0, "priority": 2, "planned_start": T0, "planned_end": T1,
    "cost_center": "CC-4100", "currency": "EUR", "machine_id": MACHINE_ID, "site_id": SITE_ID,
    "status": "in_progress", "actual_start": T0, "actual_end": None, "labor_cost_minor": 9000,
    "parts_cost_minor": 2450, "total_cost_minor": 11450, "created_at": T0, "updated_at": T1,
    "origin_kind": "user",
}  # fmt: skip
WORK_ORDER_IN = {"number": "WO-100234", "kind": "maintenance", "machine_code": "PRESS-01",
                 "description": "Replace hydraulic seal", "priority": 2, "currency": "EUR"}  # fmt: skip

DOWNTIME = {
    "id": ID, "machine_id": MACHINE_ID, "work_order_id": None, "started_at": T0,
    "ended_at": T1, "duration_minutes": 42.0, "reason_code": "JAM", "planned": False,
    "failure_mode": "SEAL-LEAK", "root_cause": "WEAR", "source": "andon",
    "description": "Material jam at infeed", "external_ref": None, "created_at": T0,
    "updated_at": T1, "origin_kind": "device",
}  # fmt: skip
DOWNTIME_IN = {"machine_id": MACHINE_ID, "started_at": T0, "ended_at": T1, "reason_code": "JAM",
               "planned": False, "source": "manual"}  # fmt: skip

CALL = {
    "id": ID, "machine_id": MACHINE_ID, "call_type": "DT", "status": "initiated",
    "downtime_event_id": ID, "note": None, "initiated_at": T0, "initiated_by": "panel-line-1",
    "claimed_at": None, "claimed_by": None, "responded_at": None, "responded_by": None,
    "closed_at": None, "closed_by": None,
}  # fmt: skip

PART = {
    "id": ID, "part_number": "SEAL-80", "name": "Hydraulic seal 80 mm", "description": None,
    "location": "Store A / bin 12", "stock": 14, "min_stock": 5, "max_stock": 40,
    "unit_price_minor": 1225, "currency": "EUR", "site_id": SITE_ID, "below_min": False,
    "created_at": T0, "updated_at": T0,
}  # fmt: skip
PART_IN = {k: PART[k] for k in ("part_number", "name", "location", "stock", "min_stock",
           "max_stock", "unit_price_minor", "currency")}  # fmt: skip

LIBRARY = {"id": ID, "code": "SEAL-LEAK", "name": "Seal leaking", "description": None,
           "machine_type": "press", "is_active": True, "created_at": T0}  # fmt: skip

BULK = {
    "created": 1, "updated": 0, "unchanged": 0, "failed": 1,
    "results": [
        {"index": 0, "key": "PRESS-01", "outcome": "created", "id": MACHINE_ID, "message": None,
         "errors": {}},
        {"index": 1, "key": "PRESS-02", "outcome": "failed", "id": None,
         "message": "Invalid value for: name", "errors": {"name": ["Field required"]}},
    ],
}  # fmt: skip

BULK_DESCRIPTION = (
    "Up to 10,000 items. **Not all-or-nothing**: every item gets its own result "
    "(`created`, `updated`, `unchanged` or `failed` with the reasons) in request order; the items "
    "that succeed are stored even when others fail. An item that changes nothing is `unchanged` "
    "and creates no outbound change."
)
