"""Request and response examples of the production, shift and workforce routers in ``/docs``.

One believable early shift on a press (Europe/Berlin, so 06:00 local is 05:00 UTC in winter).
"""

from __future__ import annotations

MACHINE_ID = "8e4f2a6b-3c1d-4f5e-8a9b-7c6d5e4f3a21"
SITE_ID = "5d2f8f0a-1c3b-4e8e-9b1a-2a6c4e8f0b12"
WO_ID = "c3a1b2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
RUN_ID = "5a1c9f0e-7b7d-4f0c-9d8e-3e2a1b4c5d6f"
SCHEDULE_ID = "d4e6f8a0-2b4c-4d6e-8f0a-2b4c6d8e0f91"
CHECKIN_ID = "e5f7a9b1-3c5d-4e7f-9a1b-3c5d7e9f1aa2"
START = "2026-01-05T05:00:00Z"
END = "2026-01-05T13:00:00Z"

RUN_START = {"machine_id": MACHINE_ID, "work_order_id": WO_ID, "started_at": START,
             "client_ref": "press-01-run-0042"}  # fmt: skip
RUN_STOP = {"machine_id": MACHINE_ID, "stopped_at": END}
RUN = {
    "id": RUN_ID, "machine_id": MACHINE_ID, "work_order_id": WO_ID, "operation": None,
    "status": "running", "started_at": START, "stopped_at": None, "ideal_cycle_time_s": None,
    "good_count": 0, "scrap_count": 0, "run_time_s": None, "downtime_s": None,
    "client_ref": "press-01-run-0042", "updated_at": START, "origin_kind": "device",
}  # fmt: skip
RUN_CLOSED = RUN | {
    "status": "closed", "stopped_at": END, "good_count": 353, "scrap_count": 19,
    "run_time_s": 25980.0, "downtime_s": 2820.0, "updated_at": END,
}  # fmt: skip

CYCLES_IN = {
    "items": [
        {"machine_id": MACHINE_ID, "good": 42, "scrap": 1, "period_start": START,
         "recorded_at": "2026-01-05T05:45:00Z", "client_ref": "press-01-000193"},
        {"machine_id": MACHINE_ID, "good": 40, "scrap": 0, "period_start": "2026-01-05T05:45:00Z",
         "recorded_at": "2026-01-05T06:30:00Z", "client_ref": "press-01-000194"},
    ]
}  # fmt: skip
CYCLES_RESULT = {
    "created": 1, "duplicates": 1, "failed": 0,
    "results": [
        {"index": 0, "status": "duplicate", "id": "c0ffee00-0000-4000-8000-000000000001",
         "run_id": RUN_ID, "errors": {}},
        {"index": 1, "status": "created", "id": "c0ffee00-0000-4000-8000-000000000002",
         "run_id": RUN_ID, "errors": {}},
    ],
}  # fmt: skip
CYCLE = {
    "id": "c0ffee00-0000-4000-8000-000000000002", "machine_id": MACHINE_ID, "run_id": RUN_ID,
    "good_count": 40, "scrap_count": 0, "recorded_at": "2026-01-05T06:30:00Z",
    "period_start": "2026-01-05T05:45:00Z", "client_ref": "press-01-000194",
    "created_at": "2026-01-05T06:30:02Z",
}  # fmt: skip

OEE = {
    "machine_id": MACHINE_ID, "start": START, "end": END, "availability": 0.8956,
    "performance": 0.9231, "quality": 0.9489, "oee": 0.7844,
    "inputs": {
        "scheduled_time_s": 28800.0, "planned_stop_s": 1800.0, "planned_time_s": 27000.0,
        "unplanned_downtime_s": 2820.0, "run_time_s": 24180.0, "ideal_cycle_time_s": 60.0,
        "total_count": 372, "good_count": 353, "scrap_count": 19, "shift_schedule": True,
    },
    "flags": [],
}  # fmt: skip

SCHEDULE_IN = {"name": "Early", "start_time": "06:00:00", "end_time": "14:00:00",
               "site_id": SITE_ID, "weekdays": [1, 2, 3, 4, 5]}  # fmt: skip
SCHEDULE = {
    "id": SCHEDULE_ID, "name": "Early", "start_time": "06:00:00", "end_time": "14:00:00",
    "valid_from": None, "valid_to": None, "site_id": SITE_ID, "machine_id": None,
    "weekdays": [1, 2, 3, 4, 5], "time_zone": "Europe/Berlin", "created_at": START,
    "updated_at": START,
}  # fmt: skip
OCCURRENCE = {
    "schedule_id": SCHEDULE_ID, "name": "Early", "shift_date": "2026-01-05", "start": START,
    "end": END, "local_start": "2026-01-05T06:00:00+01:00",
    "local_end": "2026-01-05T14:00:00+01:00", "time_zone": "Europe/Berlin",
}  # fmt: skip
NEXT_OCCURRENCE = OCCURRENCE | {
    "shift_date": "2026-01-06", "start": "2026-01-06T05:00:00Z", "end": "2026-01-06T13:00:00Z",
    "local_start": "2026-01-06T06:00:00+01:00", "local_end": "2026-01-06T14:00:00+01:00",
}  # fmt: skip

CHECKIN_IN = {"machine_id": MACHINE_ID, "worker_code": "B-10442", "worker_name": "Ana Costa",
              "hourly_rate_minor": 3250, "currency": "EUR"}  # fmt: skip
CHECKOUT_IN = {"worker_code": "B-10442", "at": END}
CHECKIN = {
    "id": CHECKIN_ID, "machine_id": MACHINE_ID, "worker_code": "B-10442",
    "worker_name": "Ana Costa", "hourly_rate_minor": 3250, "currency": "EUR",
    "checked_in_at": START, "checked_out_at": None, "shift_schedule_id": SCHEDULE_ID,
    "shift_name": "Early", "shift_date": "2026-01-05",
}  # fmt: skip
CHECKED_OUT = CHECKIN | {"checked_out_at": END}
CURRENT_SHIFT = {
    "machine_id": MACHINE_ID, "time_zone": "Europe/Berlin", "at": "2026-01-05T09:30:00Z",
    "current": OCCURRENCE, "next": NEXT_OCCURRENCE, "crew": [CHECKIN],
}  # fmt: skip
LABOR_COST = {
    "machine_id": MACHINE_ID, "start": START, "end": END,
    "totals": [{"currency": "EUR", "hours": 8.0, "amount_minor": 26000}],
    "workers": [{"worker_code": "B-10442", "worker_name": "Ana Costa", "currency": "EUR",
                 "hours": 8.0, "amount_minor": 26000}],
}  # fmt: skip
