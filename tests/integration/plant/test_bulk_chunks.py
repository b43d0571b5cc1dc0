"""Bulk upserts work chunk by chunk: one lookup per chunk, one change stamp per chunk, and a
chunk the database refuses is replayed item by item (only the offending item can fail)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.plant import Machine
from plantsync.core.services import machines
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.plant_common import BulkOutcome, BulkResult

ORIGIN = ChangeOrigin.system("test")


def upsert(db: Database, tenant: Tenant, items: list[dict[str, Any]]) -> BulkResult:
    with db.write_session() as s:
        return machines.upsert_machines(session=s, tenant_id=tenant.id, items=items, origin=ORIGIN)


def stamps(db: Database, tenant: Tenant) -> dict[str, tuple[int, str]]:
    with db.read_session() as s:
        rows = s.execute(select(Machine).where(Machine.tenant_id == tenant.id)).scalars()  # type: ignore[arg-type]
        return {m.code: (m.change_seq, m.name) for m in rows}


def test_chunk_stamps_each_written_row_once_and_skips_unchanged(
    db: Database, tenant: Tenant
) -> None:
    items = [{"code": f"M{i}", "name": f"machine {i}"} for i in range(5)]
    first = upsert(db, tenant, items)
    assert [r.outcome for r in first.results] == [BulkOutcome.created] * 5
    before = stamps(db, tenant)
    assert len({seq for seq, _ in before.values()}) == 5  # distinct numbers for the chunk
    again = upsert(db, tenant, [*items[:4], {"code": "M4", "name": "renamed"}])
    assert [r.outcome for r in again.results] == [BulkOutcome.unchanged] * 4 + [BulkOutcome.updated]
    after = stamps(db, tenant)
    assert {c: after[c] for c in ("M0", "M1", "M2", "M3")} == {
        c: before[c] for c in ("M0", "M1", "M2", "M3")
    }  # no change record for an unchanged item
    assert after["M4"][0] > max(seq for seq, _ in before.values())
    assert after["M4"][1] == "renamed"


def test_refused_chunk_is_replayed_item_by_item(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    upsert(db, tenant, [{"code": "M1", "name": "one"}])
    real = machines._MachineChunk.prepare
    calls: list[int] = []

    def stale_read(self: Any, chunk: Any) -> None:
        real(self, chunk)
        calls.append(1)
        if len(calls) == 1:  # as if another writer created M1 after the chunk's read
            self.machines.pop("M1", None)

    monkeypatch.setattr(machines._MachineChunk, "prepare", stale_read)
    result = upsert(
        db,
        tenant,
        [
            {"code": "M1", "name": "renamed"},
            {"code": "M2", "name": "two"},
            {"code": "M2", "name": "again"},
        ],
    )
    assert len(calls) == 2  # the chunk, then its replay
    assert [r.outcome for r in result.results] == [
        BulkOutcome.updated,
        BulkOutcome.created,
        BulkOutcome.failed,
    ]
    assert "code" in result.results[2].errors  # the duplicate, not the replay, fails
    rows = stamps(db, tenant)
    assert {c: name for c, (_, name) in rows.items()} == {"M1": "renamed", "M2": "two"}
