"""A record whose required ERP reference does not resolve fails before it is sent, with a
message naming the record and what to do — one rule for every provider, from the mapping.
Against the sandbox ERPs over HTTPS, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sqlmodel import select

from plantsync.core.models.integration import ExternalLink, LinkState, SyncStatus, SyncTrigger
from plantsync.core.models.plant import Machine
from plantsync.core.services.changes import stamp_change
from plantsync.core.services.sync_logs import get_log_detail
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import Hub
from tests.integration.sync.helpers import (
    USER,
    ensure_site,
    linked_machines,
    links_of,
    make_downtime,
    make_runs,
    make_work_orders,
)
from tests.integration.sync.test_outbound import writes


def _errors(hub: Hub, log_id: uuid.UUID) -> list[tuple[str | None, str, str]]:
    with hub.db.read_session() as s:
        detail = get_log_detail(session=s, tenant_id=hub.tenant.id, log_id=log_id)
    return [(e.local_id, e.code, e.message or "") for e in detail.errors]


def _unlinked_machine(hub: Hub, code: str) -> uuid.UUID:
    with hub.db.write_session() as s:
        machine = Machine(tenant_id=hub.tenant.id, code=code, name=code)
        stamp_change(s, machine, USER)
        return machine.id


def test_oracle_stop_on_an_unlinked_machine_is_not_sent(hub: Hub) -> None:
    conn = hub.connect("oracle", outbound_start_from="2020-01-01T00:00:00Z")
    machine = _unlinked_machine(hub, "PRESS-77")
    (event,) = make_downtime(hub.db, hub.tenant.id, [machine], 1)
    sent_before = writes(hub, "oracle")

    log = hub.sync(conn, Direction.outbound, EntityType.downtime)
    assert log.status == SyncStatus.failed, log.message  # every record it tried failed
    assert (log.records_written, log.records_failed) == (0, 1)
    assert writes(hub, "oracle") == sent_before  # nothing reached the ERP
    ((local_id, code, message),) = _errors(hub, log.id)
    assert (local_id, code) == (str(event), "unresolved_reference")
    assert "machine PRESS-77 has no oracle installedBaseAssets linked" in message
    assert f"plantsync sync {conn.name} --direction inbound --entity machine" in message
    assert "AssetId is required" in message
    (link,) = links_of(hub.db, conn.id, EntityType.downtime)
    assert link.state == LinkState.failed and link.erp_key is None

    # The machine gets linked to an Oracle asset (as an inbound machine sync would do): a
    # retry run sends the stop.
    asset = str(hub.erp.dump("oracle", "machine")[0]["AssetId"])
    with hub.db.write_session() as s:
        s.add(ExternalLink(tenant_id=hub.tenant.id, connection_id=conn.id,
                           entity_type=EntityType.machine, local_id=machine, erp_key=asset,
                           state=LinkState.linked, last_direction=Direction.inbound))  # fmt: skip
    retry = hub.sync(conn, Direction.outbound, EntityType.downtime, trigger=SyncTrigger.retry)
    assert (retry.records_written, retry.records_failed) == (1, 0), _errors(hub, retry.id)


def test_sap_confirmation_needs_a_pulled_production_order(hub: Hub) -> None:
    conn = hub.connect("sap", outbound_start_from="2020-01-01T00:00:00Z")
    assert hub.sync(conn, Direction.inbound, EntityType.machine).status == SyncStatus.success
    site = ensure_site(hub.db, hub.tenant.id)
    machines = linked_machines(hub.db, conn.id, 2)
    orders = make_work_orders(hub.db, hub.tenant.id, machines, 2, site=site)
    # Pushed work orders become SAP maintenance orders: a confirmation cannot name them.
    pushed = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert pushed.records_written == 2, pushed.message
    runs = make_runs(hub.db, hub.tenant.id, machines, orders, 2)
    sent_before = writes(hub, "sap")

    log = hub.sync(conn, Direction.outbound, EntityType.production_data)
    assert log.status == SyncStatus.failed, log.message  # every record it tried failed
    assert (log.records_written, log.records_failed) == (0, 2)
    assert writes(hub, "sap") == sent_before
    errors = _errors(hub, log.id)
    assert {e[0] for e in errors} == {str(r) for r in runs}
    message = errors[0][2]
    assert "is linked to a record PlantSync sent to the ERP, not to a sap" in message
    assert "API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2" in message
    assert "--direction inbound --entity work_order" in message

    # Runs on orders pulled from SAP are confirmed.
    assert hub.sync(conn, Direction.inbound, EntityType.work_order).status == SyncStatus.success
    with hub.db.read_session() as s:
        pulled = s.exec(
            select(ExternalLink.local_id).where(
                ExternalLink.connection_id == conn.id,
                ExternalLink.entity_type == EntityType.work_order,
                ExternalLink.last_direction == Direction.inbound,
            )
        ).first()
    assert pulled is not None
    make_runs(hub.db, hub.tenant.id, machines, [pulled], 1)
    ok = hub.sync(conn, Direction.outbound, EntityType.production_data)
    assert (ok.records_written, ok.records_failed) == (1, 0), _errors(hub, ok.id)
