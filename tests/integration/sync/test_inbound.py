"""Inbound machine syncs against each sandbox ERP over HTTPS, on SQLite and PostgreSQL.

Done-when 2: a full pull across pages, then an incremental one picking up new, changed,
late-timestamped and deactivated rows — the plant's machines equal the ERP's afterwards.
"""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import col, select

from plantsync.core.models.integration import Connection, SyncCursor, SyncStatus
from plantsync.core.models.plant import Machine
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import MACHINES, PAGE_SIZE, PROVIDERS, Hub
from tests.integration.sync.erp_edit import MachineEditor, late
from tests.integration.sync.helpers import links_of


def plant_machines(hub: Hub, conn: Connection) -> dict[str, tuple[str, bool]]:
    ids = [x.local_id for x in links_of(hub.db, conn.id, EntityType.machine)]
    with hub.db.read_session() as s:
        rows = s.exec(select(Machine).where(col(Machine.id).in_(ids))).all()
    return {m.code: (m.name, m.is_active) for m in rows}


def watermark(hub: Hub, conn: Connection) -> SyncCursor:
    with hub.db.read_session() as s:
        cursor = s.exec(
            select(SyncCursor).where(
                SyncCursor.connection_id == conn.id,
                SyncCursor.entity_type == EntityType.machine,
            )
        ).one()
    return cursor


def machine_count(hub: Hub) -> int:
    with hub.db.read_session() as s:
        return len(s.exec(select(Machine.id).where(Machine.tenant_id == hub.tenant.id)).all())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_full_then_incremental(hub: Hub, provider: str) -> None:
    conn = hub.connect(provider)
    editor = MachineEditor(hub.erp, provider)

    full = hub.sync(conn, Direction.inbound, EntityType.machine)
    assert full.status == SyncStatus.success, full.message
    assert full.records_read >= MACHINES > PAGE_SIZE  # several pages
    assert full.records_failed == 0
    assert "Full pull" in (full.message or "")
    assert plant_machines(hub, conn) == editor.expected()

    again = hub.sync(conn, Direction.inbound, EntityType.machine)
    assert again.status == SyncStatus.success
    assert again.records_written == 0  # nothing new: success with 0 written

    cursor = watermark(hub, conn)
    keys = editor.keys()
    new_code = editor.add(f"New press {uuid.uuid4().hex[:4]}")
    editor.rename(keys[1], "Renamed lathe")
    if cursor.watermark is not None:
        editor.rename(keys[2], "Late mill", at=late(cursor.watermark))
    if provider != "oracle":
        editor.deactivate(keys[3])
    before = machine_count(hub)

    incremental = hub.sync(conn, Direction.inbound, EntityType.machine)
    assert incremental.status == SyncStatus.success, incremental.message
    assert "Incremental pull" in (incremental.message or "")
    assert incremental.records_failed == 0
    assert incremental.records_read < full.records_read
    expected = editor.expected()
    got = plant_machines(hub, conn)
    if provider == "dynamics":  # a deleted asset stays in the plant, deactivated
        deleted = {code for code in got if code not in expected}
        assert len(deleted) == 1 and all(not got[c][1] for c in deleted)
        got = {c: v for c, v in got.items() if c not in deleted}
    assert got == expected
    assert new_code in got
    assert machine_count(hub) == before + 1  # no duplicates: one new machine


def test_expired_delta_token_means_a_full_pull_said_in_the_log(hub: Hub) -> None:
    conn = hub.connect("dynamics")
    assert hub.sync(conn, Direction.inbound, EntityType.machine).status == SyncStatus.success
    editor = MachineEditor(hub.erp, "dynamics")
    editor.rename(editor.keys()[0], "Renamed while the token expired")
    editor.sandbox.expire_delta_tokens()  # the ERP forgot our change-tracking token

    log = hub.sync(conn, Direction.inbound, EntityType.machine)
    assert log.status == SyncStatus.success, log.message
    assert "Full pull" in (log.message or "") and "expired" in (log.message or "")
    assert log.records_written == 1  # the full pull re-reads all, writes only what changed
    assert plant_machines(hub, conn) == editor.expected()


def test_wrong_credentials_fail_the_run_with_an_actionable_message(hub: Hub) -> None:
    info = hub.erp.info["sap"]
    conn = hub.connect("sap", auth_config={**info["auth_config"], "password": "wrong-pass-123"})
    log = hub.sync(conn, Direction.inbound, EntityType.machine)
    assert log.status == SyncStatus.failed
    assert "credentials" in (log.message or "") and "auth_config" in (log.message or "")
    assert "wrong-pass-123" not in (log.message or "")
    assert machine_count(hub) == 0
