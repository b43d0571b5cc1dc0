"""Moving ``outbound_start_from`` earlier is a deliberate backfill, also after outbound runs.

The first outbound run of a new connection moves its mark to the end of the change feed
(everything there is older than the window). An admin who then sets an earlier start expects
the plant's existing records to be sent, once, and nothing sent twice.
"""

from __future__ import annotations

import pytest

from plantsync.core.models.connections import ConnectionUpdate
from plantsync.core.models.integration import Connection, SyncStatus
from plantsync.core.principal import Principal
from plantsync.core.services.connections import update_connection
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import Hub
from tests.integration.sync.helpers import ensure_site, linked_machines, make_work_orders
from tests.integration.sync.test_outbound import writes


def _set_start(hub: Hub, conn: Connection, start: str) -> Connection:
    with hub.db.write_session() as session:
        return update_connection(
            session=session,
            tenant_id=hub.tenant.id,
            connection=conn.id,
            data=ConnectionUpdate.model_validate({"outbound_start_from": start}),
            principal=Principal.system(hub.tenant.id),
            settings=hub.settings,
        )


@pytest.mark.parametrize("provider", ["sap", "oracle"])
def test_earlier_start_from_backfills_after_a_run(hub: Hub, provider: str) -> None:
    puller = hub.connect(provider, outbound_start_from="2020-01-01T00:00:00Z")
    assert hub.sync(puller, Direction.inbound, EntityType.machine).status == SyncStatus.success
    site = ensure_site(hub.db, hub.tenant.id)
    orders = make_work_orders(
        hub.db, hub.tenant.id, linked_machines(hub.db, puller.id, 3), 4, site=site
    )

    conn = hub.connect(provider)  # starts now: the orders above are older
    assert hub.sync(conn, Direction.inbound, EntityType.machine).status == SyncStatus.success
    first = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert first.status == SyncStatus.skipped, first.message
    assert "outbound_start_from" in (first.message or "")

    conn = _set_start(hub, conn, "2020-01-01T00:00:00Z")
    backfill = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert backfill.status == SyncStatus.success, backfill.message
    assert (backfill.records_written, backfill.records_failed) == (len(orders), 0)

    hub.erp.clear_requests()
    again = hub.sync(conn, Direction.outbound, EntityType.work_order)
    assert again.status == SyncStatus.skipped, again.message
    assert writes(hub, provider) == 0
