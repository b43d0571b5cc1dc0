"""Request and response examples of ``/api/v1/erp`` in ``/docs``.

``auth_config`` is write-only: requests carry it, responses only list ``auth_config_keys``.
"""

from __future__ import annotations

from typing import Any

CONNECTION_ID = "1e3a5c7e-9a1c-4e3a-8c5e-7a9c1e3a5c68"
LOG_ID = "7b9d1f3b-5d7f-4b9d-9f1b-3d5f7b9d1f79"
FAILED_LOG_ID = "5f7b9d1f-3b5d-4f7b-8d1f-3b5d7f9b1d8a"
WORK_ORDER_ID = "c3a1b2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
T0 = "2026-03-02T06:00:00Z"
T1 = "2026-03-02T07:00:00Z"
T1_END = "2026-03-02T07:00:04Z"
T2 = "2026-03-02T08:00:00Z"

# The create body of the issue, accepted as is.
CONNECTION_IN: dict[str, Any] = {
    "name": "SAP Production",
    "provider": "sap",
    "base_url": "https://sap.yourcompany.com",
    "auth_config": {"username": "plantsync_integration", "password": "secure_password"},
    "sync_interval_minutes": 60,
    "is_active": True,
    "field_mappings": {"work_order_id": "AUFNR", "machine_id": "EQUNR"},
}
CONNECTION_UPDATE = {"sync_interval_minutes": 30, "auth_config": {"password": "new_password"}}

_ENTITIES = [
    ("outbound", "work_order"), ("outbound", "production_data"), ("outbound", "downtime"),
    ("inbound", "machine"), ("inbound", "work_order"),
]  # fmt: skip


def _schedule(direction: str, entity: str) -> dict[str, Any]:
    ran = (direction, entity) == ("outbound", "work_order")
    return {
        "entity_type": entity, "direction": direction,
        "last_sync_at": T1_END if ran else None, "last_status": "success" if ran else None,
        "last_log_id": LOG_ID if ran else None, "next_sync_at": T2 if ran else T1,
    }  # fmt: skip


CONNECTION = {
    "id": CONNECTION_ID, "name": "SAP Production", "provider": "sap",
    "base_url": "https://sap.yourcompany.com", "auth_config_keys": ["password", "username"],
    "sync_interval_minutes": 60, "is_active": True,
    "field_mappings": {"work_order_id": "AUFNR", "machine_id": "EQUNR"},
    "tls": {"ca_bundle_pem": None, "verify": True}, "tls_verify_disabled": False, "warnings": [],
    "sync_entities": [{"direction": d, "entity_type": e} for d, e in _ENTITIES],
    "outbound_start_from": T0, "created_at": T0, "updated_at": T0,
    "last_sync_at": T1_END, "last_status": "success", "next_sync_at": T1,
    "schedule": [_schedule(d, e) for d, e in _ENTITIES], "degraded": False,
    "consecutive_failures": 0,
}  # fmt: skip
CONNECTION_UPDATED = CONNECTION | {"sync_interval_minutes": 30, "updated_at": T2}

TEST_OK = {"success": True, "latency_ms": 120, "message": "Successfully connected to SAP"}

SYNC_IN = {"direction": "outbound", "entity_type": "work_order", "entity_id": WORK_ORDER_ID}

_LOG_BASE = {
    "connection_id": CONNECTION_ID, "direction": "outbound", "entity_type": "work_order",
    "entity_id": None, "progress": None, "retry_of": None, "attempt": 1,
    "requested_by": "ana.costa@example.com",
}  # fmt: skip
PENDING_LOG = _LOG_BASE | {
    "id": LOG_ID, "url": f"/api/v1/erp/logs/{LOG_ID}", "entity_id": WORK_ORDER_ID,
    "trigger": "manual", "status": "pending", "created_at": T2, "started_at": None,
    "finished_at": None, "duration_ms": None, "records_read": 0, "records_written": 0,
    "records_failed": 0, "records_skipped": 0, "message": None,
}  # fmt: skip
RUNNING_LOG = PENDING_LOG | {"status": "in_progress", "started_at": T2}
FAILED_LOG = _LOG_BASE | {
    "id": FAILED_LOG_ID, "url": f"/api/v1/erp/logs/{FAILED_LOG_ID}", "trigger": "schedule",
    "status": "failed", "created_at": T1, "started_at": T1, "finished_at": T1_END,
    "duration_ms": 4012, "records_read": 25, "records_written": 24, "records_failed": 1,
    "records_skipped": 0, "message": "1 of 25 records failed", "requested_by": None,
}  # fmt: skip
FAILED_LOG_DETAIL = FAILED_LOG | {
    "errors_total": 1, "errors_truncated": False,
    "errors": [{
        "local_id": WORK_ORDER_ID, "erp_key": "4711002", "code": "erp_validation_error",
        "message": "Order 4711002: work center PRESS-01 does not exist in plant 1000",
        "created_at": T1_END,
    }],
}  # fmt: skip
RETRY_LOG = PENDING_LOG | {
    "trigger": "retry", "retry_of": FAILED_LOG_ID, "attempt": 2, "entity_id": None,
}  # fmt: skip
