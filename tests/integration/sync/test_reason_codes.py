"""Downtime reasons reach SAP as the coding codes of the mapping's value map (a connection adds
its plant's own); a reason with no code fails before sending, saying how to map it."""

from __future__ import annotations

import uuid

from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.plant import Machine
from plantsync.core.services.changes import stamp_change
from plantsync.core.services.sync_logs import get_log_detail
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import Hub
from tests.integration.sync.helpers import USER, make_downtime
from tests.integration.sync.test_outbound import erp_rows


def _errors(hub: Hub, log_id: uuid.UUID) -> list[tuple[str | None, str, str]]:
    with hub.db.read_session() as s:
        detail = get_log_detail(session=s, tenant_id=hub.tenant.id, log_id=log_id)
    return [(e.local_id, e.code, e.message or "") for e in detail.errors]


def test_sap_stops_carry_mapped_reason_codes(hub: Hub) -> None:
    conn = hub.connect(
        "sap",
        outbound_start_from="2020-01-01T00:00:00Z",
        field_mappings={"downtime.reason_code.WARMUP": "0070"},
    )
    with hub.db.write_session() as s:  # SAP's equipment is optional on a notification
        oven = Machine(tenant_id=hub.tenant.id, code="OVEN-9", name="Oven 9")
        stamp_change(s, oven, USER)
        machine = oven.id
    events = make_downtime(hub.db, hub.tenant.id, [machine], 3)
    with hub.db.write_session() as s:
        for event_id, reason in zip(events, ("BREAKDOWN", "WARMUP", "SMOKE"), strict=True):
            row = s.get(DowntimeEvent, event_id)
            assert row is not None
            row.reason_code = reason
            stamp_change(s, row, USER)

    log = hub.sync(conn, Direction.outbound, EntityType.downtime)
    assert (log.records_written, log.records_failed) == (2, 1), log.message
    codes = {r["MaintNotificationCode"] for r in erp_rows(hub, conn, EntityType.downtime).values()}
    assert {"0020", "0070"} <= codes
    ((local_id, _code, message),) = _errors(hub, log.id)
    assert local_id == str(events[2])
    assert "reason_code='SMOKE' has no ERP value" in message
    assert "'downtime.reason_code.SMOKE'" in message
