"""Outbound syncs against each sandbox ERP over HTTPS, on SQLite and PostgreSQL.

Done-when 1: a full push, then nothing changed (``skipped``, nothing sent), then 1% changed
-> exactly those sent, as updates (SAP confirmations, create-only: a cancellation + a new one).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest

from plantsync.connectors.base import key_string
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.integration import Connection, LinkState, SyncStatus
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.production import ProductionRun
from plantsync.core.sync.setup import effective_mapping
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import PROVIDERS, RECORDS, Hub
from tests.integration.sync.helpers import (
    ensure_site,
    linked_machines,
    links_of,
    make_downtime,
    make_runs,
    make_work_orders,
    touch,
)

WRITES = ("POST", "PATCH", "MERGE", "PUT", "DELETE")
MODELS: dict[EntityType, Any] = {
    EntityType.work_order: WorkOrder,
    EntityType.downtime: DowntimeEvent,
    EntityType.production_data: ProductionRun,
}
CHANGES: dict[EntityType, dict[str, Any]] = {
    EntityType.work_order: {"description": lambda r: f"{r.description} (revised)"},
    EntityType.downtime: {"description": lambda r: f"{r.description} (revised)"},
    EntityType.production_data: {"good_count": lambda r: r.good_count + 7},
}


def erp_rows(hub: Hub, conn: Connection, entity: EntityType) -> dict[str, dict[str, Any]]:
    """The ERP's rows of ``entity`` by key (as the connector names keys)."""
    m = effective_mapping(conn).get(entity, Direction.outbound)
    assert m is not None
    return {
        key_string([r.get(k) for k in m.key]): r for r in hub.erp.dump(conn.provider, entity.value)
    }


def live(provider: str, entity: EntityType, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Rows that count (SAP confirmations: neither reversed nor a reversal)."""
    if provider == "sap" and entity is EntityType.production_data:
        return {
            k: r for k, r in rows.items() if not r.get("IsReversed") and not r.get("IsReversal")
        }
    return rows


def errors(hub: Hub, log_id: uuid.UUID) -> list[str]:
    from plantsync.core.services.sync_logs import get_log_detail

    with hub.db.read_session() as s:
        detail = get_log_detail(session=s, tenant_id=hub.tenant.id, log_id=log_id)
    return [f"{e.code}: {e.message}" for e in detail.errors[:5]]


def writes(hub: Hub, provider: str) -> int:
    methods = hub.erp.requests(provider)["methods"]
    return sum(methods.get(m, 0) for m in WRITES)


def prepare(hub: Hub, provider: str) -> tuple[Connection, dict[EntityType, list[uuid.UUID]]]:
    """A connection with machines pulled in, and plant records of each outbound entity."""
    conn = hub.connect(provider, outbound_start_from="2020-01-01T00:00:00Z")
    assert hub.sync(conn, Direction.inbound, EntityType.machine).status == SyncStatus.success
    site = ensure_site(hub.db, hub.tenant.id)
    machines = linked_machines(hub.db, conn.id, 20)
    orders = make_work_orders(hub.db, hub.tenant.id, machines, RECORDS, site=site)
    return conn, {
        EntityType.work_order: orders,
        EntityType.downtime: make_downtime(hub.db, hub.tenant.id, machines, RECORDS),
    }


def production_orders(hub: Hub, conn: Connection) -> list[uuid.UUID]:
    """Work orders the production runs report against, known to the ERP."""
    if conn.provider == "sap":  # confirmations need SAP production orders: pull them in
        log = hub.sync(conn, Direction.inbound, EntityType.work_order)
        assert log.status == SyncStatus.success, log.message
    want = Direction.inbound if conn.provider == "sap" else Direction.outbound
    links = [
        x
        for x in links_of(hub.db, conn.id, EntityType.work_order)
        if x.erp_key and x.last_direction == want
    ]
    return [x.local_id for x in links[:20]]


def check_entity(hub: Hub, conn: Connection, entity: EntityType, ids: list[uuid.UUID]) -> None:
    provider = conn.provider
    before = live(provider, entity, erp_rows(hub, conn, entity))

    first = hub.sync(conn, Direction.outbound, entity)
    assert first.status == SyncStatus.success, (entity, first.message)
    assert (first.records_written, first.records_failed) == (len(ids), 0), errors(hub, first.id)
    after = live(provider, entity, erp_rows(hub, conn, entity))
    assert len(after) - len(before) == len(ids)  # every record created once
    keys = {x.erp_key for x in links_of(hub.db, conn.id, entity)}
    assert len(keys) == len(ids) and keys <= set(after)

    hub.erp.clear_requests()
    second = hub.sync(conn, Direction.outbound, entity)
    assert second.status == SyncStatus.skipped, second.message
    assert "nothing to send" in (second.message or "")
    assert writes(hub, provider) == 0

    changed = ids[: max(1, math.ceil(len(ids) / 100))]
    touch(hub.db, MODELS[entity], changed, **CHANGES[entity])
    hub.erp.clear_requests()
    third = hub.sync(conn, Direction.outbound, entity)
    assert third.status == SyncStatus.success, third.message
    assert (third.records_written, third.records_failed) == (len(changed), 0)
    final = live(provider, entity, erp_rows(hub, conn, entity))
    assert len(final) == len(after)  # updated (or replaced), never duplicated
    state = {x.local_id: x for x in links_of(hub.db, conn.id, entity)}
    assert all(state[i].state == LinkState.linked for i in ids)
    if provider == "sap" and entity is EntityType.production_data:
        assert "0 updated" in (third.message or "")  # create-only: cancellation + new record
        assert all(state[i].erp_key in final for i in changed)
    else:
        assert f"{len(changed)} updated" in (third.message or "")
        assert {state[i].erp_key for i in changed} <= set(after)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_full_then_skipped_then_one_percent(hub: Hub, provider: str) -> None:
    conn, ids = prepare(hub, provider)
    for entity in (EntityType.work_order, EntityType.downtime):
        check_entity(hub, conn, entity, ids[entity])
    orders = production_orders(hub, conn)
    machines = linked_machines(hub.db, conn.id, 20)
    runs = make_runs(hub.db, hub.tenant.id, machines, orders, RECORDS)
    check_entity(hub, conn, EntityType.production_data, runs)
