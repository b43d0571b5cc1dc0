"""Count submissions: batched good/scrap counts from the plant floor, and their list.

Rules:

- Counts arrive in batches of up to 10,000 items. Each item stands alone: a well-formed item
  naming an unknown machine or run fails by itself, the others are stored (one result per
  item, in order). An item whose ``client_ref`` was already stored for that machine is a
  ``duplicate`` and is not counted again, so a counter may resend a batch it lost the answer to.
- A count belongs to the run named, else to the machine's run covering its ``recorded_at``
  (none: it still counts for OEE, without a run). A run's good/scrap totals, and its work
  order's reported quantities, grow in the same transaction, as SQL increments so concurrent
  batches never lose one another's counts; both are stamped as changed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine
from plantsync.core.models.production import (
    CycleBatch,
    CycleBatchResult,
    CycleItem,
    CycleItemResult,
    CycleItemStatus,
    CycleSubmission,
    ProductionRun,
)
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.changes import ChangeOrigin
from plantsync.core.services.plant_common import keyset_page, where_equal
from plantsync.core.services.production import MAX_CLOCK_SKEW, stamp


def record_cycles(
    *, session: Session, principal: Principal, batch: CycleBatch, clock: Clock = SYSTEM_CLOCK
) -> CycleBatchResult:
    """Stores a batch of counts (see the module docstring) and commits.

    Returns one result per item, in order: ``created``, ``duplicate`` or ``error``.
    """
    try:
        return _record_cycles(session, principal, batch.items, clock)
    except IntegrityError:
        # A concurrent resend of the same refs committed first: run again, they are duplicates.
        session.rollback()
        return _record_cycles(session, principal, batch.items, clock)


def _record_cycles(
    session: Session, principal: Principal, items: Sequence[CycleItem], clock: Clock
) -> CycleBatchResult:
    now = clock.now()
    ctx = _BatchContext.load(session, principal, items)
    results: list[CycleItemResult] = []
    added: list[CycleSubmission] = []
    for index, item in enumerate(items):
        result, row = ctx.accept(index, item, now)
        results.append(result)
        if row is not None:
            added.append(row)
    session.add_all(added)
    session.flush()
    _add_to_runs(session, principal, added, clock)
    session.commit()
    return CycleBatchResult(
        created=sum(r.status == CycleItemStatus.created for r in results),
        duplicates=sum(r.status == CycleItemStatus.duplicate for r in results),
        failed=sum(r.status == CycleItemStatus.error for r in results),
        results=results,
    )


class _BatchContext:
    """What a batch needs from the database, loaded in a few queries, not one per item."""

    def __init__(
        self,
        principal: Principal,
        machines: set[uuid.UUID],
        refs: dict[tuple[uuid.UUID, str], CycleSubmission],
        runs: dict[uuid.UUID, ProductionRun],
    ) -> None:
        self.principal = principal
        self.machines = machines
        self.refs = refs
        self.runs = runs
        self.by_machine: dict[uuid.UUID, list[ProductionRun]] = defaultdict(list)
        for run in runs.values():
            self.by_machine[run.machine_id].append(run)
        self.seen: dict[tuple[uuid.UUID, str], CycleSubmission] = {}

    @classmethod
    def load(
        cls, session: Session, principal: Principal, items: Sequence[CycleItem]
    ) -> _BatchContext:
        tenant_id = principal.tenant_id
        machine_ids = {i.machine_id for i in items}
        machines = set(
            session.exec(
                select(Machine.id).where(
                    Machine.tenant_id == tenant_id, col(Machine.id).in_(machine_ids)
                )
            ).all()
        )
        refs = {i.client_ref for i in items if i.client_ref}
        known: dict[tuple[uuid.UUID, str], CycleSubmission] = {}
        if refs:
            for row in session.exec(
                select(CycleSubmission).where(
                    CycleSubmission.tenant_id == tenant_id,
                    col(CycleSubmission.machine_id).in_(machines),
                    col(CycleSubmission.client_ref).in_(refs),
                )
            ).all():
                known[(row.machine_id, row.client_ref or "")] = row
        runs = _candidate_runs(session, tenant_id, machines, items)
        return cls(principal, machines, known, runs)

    def accept(
        self, index: int, item: CycleItem, now: datetime
    ) -> tuple[CycleItemResult, CycleSubmission | None]:
        def error(field: str, message: str) -> tuple[CycleItemResult, None]:
            errors = {f"items.{index}.{field}": [message]}
            return CycleItemResult(index=index, status=CycleItemStatus.error, errors=errors), None

        if item.machine_id not in self.machines:
            return error("machine_id", f"Machine {item.machine_id} not found")
        if not self.principal.can_touch_machine(item.machine_id):
            return error("machine_id", "this key may not report for this machine")
        if item.client_ref is not None:
            key = (item.machine_id, item.client_ref)
            earlier = self.refs.get(key) or self.seen.get(key)
            if earlier is not None:
                if (earlier.good_count, earlier.scrap_count) != (item.good, item.scrap):
                    return error("client_ref", "already used for different counts")
                return CycleItemResult(
                    index=index, status=CycleItemStatus.duplicate, id=earlier.id,
                    run_id=earlier.run_id,
                ), None  # fmt: skip
        recorded_at = item.recorded_at or now
        if recorded_at > now + MAX_CLOCK_SKEW:
            return error("recorded_at", "is in the future")
        if item.period_start is not None and item.period_start > recorded_at:
            return error("period_start", "is after recorded_at")
        run_id, problem = self._run_for(item, recorded_at)
        if problem:
            return error("run_id", problem)
        row = CycleSubmission(
            tenant_id=self.principal.tenant_id, machine_id=item.machine_id, run_id=run_id,
            good_count=item.good, scrap_count=item.scrap, recorded_at=recorded_at,
            period_start=item.period_start, client_ref=item.client_ref,
            origin_kind=ChangeOrigin.from_principal(self.principal).kind,
            origin_id=self.principal.subject_id, created_at=now,
        )  # fmt: skip
        if item.client_ref is not None:
            self.seen[(item.machine_id, item.client_ref)] = row
        return CycleItemResult(
            index=index, status=CycleItemStatus.created, id=row.id, run_id=run_id
        ), row

    def _run_for(self, item: CycleItem, at: datetime) -> tuple[uuid.UUID | None, str | None]:
        if item.run_id is not None:
            run = self.runs.get(item.run_id)
            if run is None or run.machine_id != item.machine_id:
                return None, f"Production run {item.run_id} not found on this machine"
            return run.id, None
        for run in self.by_machine.get(item.machine_id, []):
            if run.started_at <= at and (run.stopped_at is None or at <= run.stopped_at):
                return run.id, None
        return None, None


def _candidate_runs(
    session: Session, tenant_id: uuid.UUID, machines: set[uuid.UUID], items: Sequence[CycleItem]
) -> dict[uuid.UUID, ProductionRun]:
    """Runs the items name, plus each machine's runs that may cover the items' times."""
    if not machines:
        return {}
    named = {i.run_id for i in items if i.run_id is not None}
    times = [i.recorded_at for i in items if i.recorded_at is not None]
    earliest = min(times) if len(times) == len(items) and times else None
    query = select(ProductionRun).where(
        ProductionRun.tenant_id == tenant_id, col(ProductionRun.machine_id).in_(machines)
    )
    if earliest is not None:
        query = query.where(
            (col(ProductionRun.stopped_at).is_(None)) | (col(ProductionRun.stopped_at) >= earliest)
        )
    runs = {r.id: r for r in session.exec(query.order_by(col(ProductionRun.started_at).desc()))}
    if named - runs.keys():
        extra = session.exec(
            select(ProductionRun).where(
                ProductionRun.tenant_id == tenant_id, col(ProductionRun.id).in_(named - runs.keys())
            )
        )
        runs.update({r.id: r for r in extra})
    return runs


def _add_to_runs(
    session: Session, principal: Principal, rows: Sequence[CycleSubmission], clock: Clock
) -> None:
    """Adds the new counts to their runs and work orders (SQL increments) and stamps both."""
    sums: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row.run_id is not None:
            sums[row.run_id][0] += row.good_count
            sums[row.run_id][1] += row.scrap_count
    for run_id, (good, scrap) in sums.items():
        session.execute(
            update(ProductionRun)
            .where(col(ProductionRun.id) == run_id)
            .values(
                good_count=ProductionRun.good_count + good,
                scrap_count=ProductionRun.scrap_count + scrap,
            )
        )
        run = session.get(ProductionRun, run_id, populate_existing=True)
        assert run is not None
        stamp(session=session, row=run, principal=principal, clock=clock)
        if run.work_order_id is not None:
            _add_to_work_order(session, principal, run.work_order_id, good, scrap, clock)


def _add_to_work_order(
    session: Session, principal: Principal, wo_id: uuid.UUID, good: int, scrap: int, clock: Clock
) -> None:
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id) == wo_id)
        .values(
            quantity_good=WorkOrder.quantity_good + good,
            quantity_scrap=WorkOrder.quantity_scrap + scrap,
        )
    )
    wo = session.get(WorkOrder, wo_id, populate_existing=True)
    if wo is not None:
        stamp(session=session, row=wo, principal=principal, clock=clock)


def list_cycles(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CycleSubmission]:
    """Count submissions, newest ``recorded_at`` first (ties by id), keyset-paged."""
    query = select(CycleSubmission).where(CycleSubmission.tenant_id == tenant_id)
    query = where_equal(
        query, (CycleSubmission.machine_id, machine_id), (CycleSubmission.run_id, run_id)
    )
    if start is not None:
        query = query.where(col(CycleSubmission.recorded_at) >= start)
    if end is not None:
        query = query.where(col(CycleSubmission.recorded_at) < end)
    order = [col(CycleSubmission.recorded_at), col(CycleSubmission.id)]
    rows, next_cursor = keyset_page(
        session, query, order=order, limit=limit, cursor=cursor, descending=True
    )
    return Page[CycleSubmission](items=rows, next_cursor=next_cursor)


__all__ = ["list_cycles", "record_cycles"]
