"""The demo plant fits what the ERPs accept, so a new user's first outbound sync lands."""

from __future__ import annotations

import pytest
from sqlmodel import select

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.services.demo import fill_demo

SAP_KOSTL = 10  # SAP cost centre (CostCenter / ResponsibleCostCenter): Edm.String MaxLength 10
SAP_SHORT_TEXT = 40  # SAP notification and order short texts


@pytest.fixture
def demo(db: Database, tenant: Tenant) -> Tenant:
    with db.write_session() as session:
        fill_demo(session=session, tenant_id=tenant.id)
    return tenant


def test_demo_cost_centres_fit_sap(db: Database, demo: Tenant) -> None:
    with db.read_session() as session:
        orders = session.exec(select(WorkOrder).where(WorkOrder.tenant_id == demo.id)).all()
    assert orders
    assert all(wo.cost_center and len(wo.cost_center) <= SAP_KOSTL for wo in orders)
    assert all(len(wo.description or "") <= SAP_SHORT_TEXT for wo in orders)


def test_demo_stops_carry_a_short_text(db: Database, demo: Tenant) -> None:
    with db.read_session() as session:
        events = session.exec(select(DowntimeEvent).where(DowntimeEvent.tenant_id == demo.id)).all()
    assert events
    assert all(e.description and len(e.description) <= SAP_SHORT_TEXT for e in events)
