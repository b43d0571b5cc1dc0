"""Change tracking on both databases: stamping, marks, origins, and the concurrent-writer proof."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from plantsync.core.db import Database
from plantsync.core.models import Machine, Tenant
from plantsync.core.models.change import OriginKind
from plantsync.core.models.plant import MachineCreate, MachineUpdate
from plantsync.core.services import machines
from plantsync.core.services.changes import ChangeMark, ChangeOrigin, changed_since, stamp_change
from plantsync.errors import ValidationError
from tests.factories import create_tenant

SYSTEM = ChangeOrigin.system()


def _create(db: Database, tenant: Tenant, code: str, origin: ChangeOrigin = SYSTEM) -> Machine:
    with db.session(write=True) as s:
        return machines.create_machine(
            session=s, tenant_id=tenant.id, data=MachineCreate(code=code, name=code), origin=origin
        )


def settle(db: Database, *, past_xid: int | None = None) -> None:
    """PostgreSQL: wait until every transaction older than now (or than ``past_xid``) ended.

    Other sessions on the same server (other test runs) may hold a transaction open; the
    change feed rightly waits for them, so the tests wait for exactly that condition."""
    if db.is_sqlite:
        return
    deadline = time.monotonic() + 30
    with db.engine.connect() as conn:
        target = (
            past_xid + 1
            if past_xid is not None
            else int(
                conn.execute(
                    text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                ).scalar_one()
            )
        )
        while True:
            conn.rollback()
            xmin = conn.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            ).scalar_one()
            if int(xmin) >= target or time.monotonic() > deadline:
                return
            time.sleep(0.02)


def _read(
    db: Database, tenant: Tenant, after: ChangeMark | None, *, wait: bool = True, **kw: object
) -> tuple[list[str], ChangeMark]:
    if wait:
        settle(db)
    with db.read_session() as s:
        rows, mark = changed_since(session=s, model=Machine, tenant_id=tenant.id, after=after, **kw)  # type: ignore[arg-type]
        return [r.code for r in rows], mark


def test_changes_come_in_order_and_marks_resume(db: Database, tenant: Tenant) -> None:
    for code in ("M1", "M2", "M3"):
        _create(db, tenant, code)
    codes, mark = _read(db, tenant, None, limit=2)
    assert codes == ["M1", "M2"]
    codes, mark = _read(db, tenant, mark)
    assert codes == ["M3"]
    assert _read(db, tenant, mark)[0] == []
    # an update moves the row to the end of the order
    m1 = _read(db, tenant, None)[0]
    assert m1 == ["M1", "M2", "M3"]
    with db.session(write=True) as s:
        row = machines.find_machine_by_code(session=s, tenant_id=tenant.id, code="M1")
        assert row is not None
        machines.update_machine(
            session=s,
            tenant_id=tenant.id,
            machine_id=row.id,
            data=MachineUpdate(name="Press"),
            origin=SYSTEM,
        )
    codes, mark2 = _read(db, tenant, mark)
    assert codes == ["M1"]
    assert mark2 > mark
    assert ChangeMark.decode(mark2.encode()) == mark2


def test_unchanged_update_does_not_stamp(db: Database, tenant: Tenant) -> None:
    m = _create(db, tenant, "M1")
    _codes, mark = _read(db, tenant, None)
    with db.session(write=True) as s:
        machines.update_machine(
            session=s,
            tenant_id=tenant.id,
            machine_id=m.id,
            data=MachineUpdate(name="M1"),
            origin=SYSTEM,
        )
    assert _read(db, tenant, mark)[0] == []


def test_origin_is_recorded_and_a_connection_is_not_echoed(db: Database, tenant: Tenant) -> None:
    import uuid

    conn = uuid.uuid4()
    _create(db, tenant, "FROM-ERP", ChangeOrigin.inbound_sync(conn))
    _create(db, tenant, "LOCAL")
    codes, _ = _read(db, tenant, None, exclude_connection_id=conn)
    assert codes == ["LOCAL"]
    assert _read(db, tenant, None, exclude_connection_id=uuid.uuid4())[0] == ["FROM-ERP", "LOCAL"]
    with db.read_session() as s:
        row = machines.find_machine_by_code(session=s, tenant_id=tenant.id, code="FROM-ERP")
        assert row is not None
        assert (row.origin_kind, row.origin_connection_id) == (OriginKind.sync, conn)


def test_tenants_have_separate_feeds(db: Database, tenant: Tenant) -> None:
    other = create_tenant(db)
    _create(db, tenant, "A")
    _create(db, other, "B")
    assert _read(db, tenant, None)[0] == ["A"]
    assert _read(db, other, None)[0] == ["B"]


def test_bad_mark_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        ChangeMark.decode("nope")


def test_uncommitted_change_is_invisible_until_commit(db: Database, tenant: Tenant) -> None:
    writer = db.session(write=True)
    try:
        row = Machine(tenant_id=tenant.id, code="W", name="W")
        stamp_change(writer, row, SYSTEM)
        writer.flush()
        codes, mark = _read(db, tenant, None, wait=False)
        assert codes == []
        writer.commit()
    finally:
        writer.close()
    assert _read(db, tenant, mark)[0] == ["W"]


def test_postgres_late_commit_of_lower_number_is_still_found(db: Database, tenant: Tenant) -> None:
    """Two concurrent writers: B (higher number) commits and is read while A (lower number)
    is still open; A commits afterwards and must be handed out by the next read."""
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers; covered by the previous test")
    t2 = db.session(write=True)
    t1 = db.session(write=True)
    try:
        t2.execute(text("SELECT pg_current_xact_id()"))  # B's transaction starts first
        a = Machine(tenant_id=tenant.id, code="A", name="A")
        stamp_change(t1, a, SYSTEM)
        t1.flush()  # A draws the lower number, stays uncommitted
        b = Machine(tenant_id=tenant.id, code="B", name="B")
        stamp_change(t2, b, SYSTEM)
        t2.flush()
        assert a.change_seq < b.change_seq
        t2.commit()
        settle(db, past_xid=b.change_xid)  # older transactions of other sessions
        first, mark = _read(db, tenant, None, wait=False)
        assert first == ["B"]  # the higher number is read while A is still open
        t1.commit()
    finally:
        t1.close()
        t2.close()
    second, _ = _read(db, tenant, mark)
    assert second == ["A"]


def test_postgres_open_older_transaction_holds_back_newer_changes(
    db: Database, tenant: Tenant
) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL horizon")
    t1 = db.session(write=True)
    try:
        a = Machine(tenant_id=tenant.id, code="A", name="A")
        stamp_change(t1, a, SYSTEM)
        t1.flush()
        _create(db, tenant, "B")
        first, mark = _read(db, tenant, None, wait=False)
        assert first == []  # B waits until the older, still-open transaction ends
        t1.commit()
    finally:
        t1.close()
    second, _ = _read(db, tenant, mark)
    assert second == ["A", "B"]
