"""Production runs and count submissions: start, stop, batched counts, lists.

Rules:

- One open run per machine; a second start answers 409 (a retried start carrying the same
  ``client_ref`` gets the run it already created).
- Counts arrive in batches of up to 10,000 items. Each item stands alone: a well-formed item
  naming an unknown machine or run fails by itself, the others are stored (one result per
  item, in order). An item whose ``client_ref`` was already stored for that machine is a
  ``duplicate`` and is not counted again, so a counter may resend a batch it lost the answer to.
- A count belongs to the run named, else to the machine's run covering its ``recorded_at``
  (none: it still counts for OEE, without a run). A run's good/scrap totals, and its work
  order's reported quantities, grow in the same transaction, as SQL increments so concurrent
  batches never lose one another's counts.
- Starting, stopping and every change of a run's figures stamps the run's change (so an
  outbound sync pushes the closed run again with its new figures).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine, MachineStatus
from plantsync.core.models.production import (
    CycleBatch,
    CycleBatchResult,
    CycleItem,
    CycleItemResult,
    CycleItemStatus,
    CycleSubmission,
    ProductionRun,
    RunStart,
    RunStatus,
    RunStop,
)
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.machines import apply_machine_status
from plantsync.core.services.oee import intersect, seconds
from plantsync.core.services.plant_common import keyset_page
from plantsync.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError

#: How far in the future a client's timestamp may be (clock skew of plant devices).
MAX_CLOCK_SKEW = timedelta(minutes=5)


def stamp(*, session: Session, row: Any, principal: Principal, clock: Clock) -> None:
    """Stamps a tracked row's change as made by ``principal`` (see ``services.changes``)."""
    stamp_change(session, row, ChangeOrigin.from_principal(principal), clock=clock)


# --- look-ups ------------------------------------------------------------------------------------


def get_machine(*, session: Session, principal: Principal, machine_id: uuid.UUID) -> Machine:
    """The caller's tenant's machine; 404 otherwise, 403 for an API key limited elsewhere."""
    machine = session.exec(
        select(Machine).where(Machine.id == machine_id, Machine.tenant_id == principal.tenant_id)
    ).first()
    if machine is None:
        raise NotFoundError("Machine", machine_id)
    if not principal.can_touch_machine(machine_id):
        raise PermissionDeniedError(f"This key may not act on machine {machine_id}")
    return machine


def get_run(*, session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID) -> ProductionRun:
    run = session.exec(
        select(ProductionRun).where(
            ProductionRun.id == run_id, ProductionRun.tenant_id == tenant_id
        )
    ).first()
    if run is None:
        raise NotFoundError("Production run", run_id)
    return run


def open_run(
    *, session: Session, tenant_id: uuid.UUID, machine_id: uuid.UUID
) -> ProductionRun | None:
    return session.exec(
        select(ProductionRun).where(
            ProductionRun.tenant_id == tenant_id,
            ProductionRun.machine_id == machine_id,
            ProductionRun.status == RunStatus.running,
        )
    ).first()


def _check_not_future(field: str, value: datetime, clock: Clock) -> None:
    if value > clock.now() + MAX_CLOCK_SKEW:
        raise ValidationError.single(field, "is in the future")


# --- runs --------------------------------------------------------------------------------------


def start_run(
    *, session: Session, principal: Principal, data: RunStart, clock: Clock = SYSTEM_CLOCK
) -> ProductionRun:
    """Opens a run on a machine and commits; the machine's status becomes ``running``.

    Raises:
        NotFoundError: the machine or work order is not in the caller's tenant.
        ConflictError: the machine already has an open run.
        ValidationError: ``started_at`` is in the future.
    """
    tenant_id = principal.tenant_id
    machine = get_machine(session=session, principal=principal, machine_id=data.machine_id)
    if data.client_ref is not None:
        earlier = _run_by_ref(session, tenant_id, machine.id, data.client_ref)
        if earlier is not None:
            return earlier
    if data.work_order_id is not None:
        _work_order(session, tenant_id, data.work_order_id)
    started_at = data.started_at or clock.now()
    _check_not_future("started_at", started_at, clock)
    current = open_run(session=session, tenant_id=tenant_id, machine_id=machine.id)
    if current is not None:
        raise _already_running(machine, current)
    run = ProductionRun(
        tenant_id=tenant_id,
        machine_id=machine.id,
        work_order_id=data.work_order_id,
        operation=data.operation,
        started_at=started_at,
        ideal_cycle_time_s=data.ideal_cycle_time_s,
        client_ref=data.client_ref,
        created_at=clock.now(),
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent start won the partial unique index
        session.rollback()
        raise ConflictError(f"Machine {machine.code} already has an open run") from exc
    stamp(session=session, row=run, principal=principal, clock=clock)
    _machine_status(session, principal, machine, MachineStatus.running, started_at, clock)
    session.commit()
    return run


def _machine_status(
    session: Session,
    principal: Principal,
    machine: Machine,
    status: MachineStatus,
    at: datetime,
    clock: Clock,
) -> None:
    """Moves the machine to ``status`` as a run starts or stops, unless it is stopped for a
    reason of its own (down, maintenance, offline: an andon call or an operator said so)."""
    if machine.status in (MachineStatus.down, MachineStatus.maintenance, MachineStatus.offline):
        return
    apply_machine_status(
        session=session, machine=machine, status=status, at=at,
        origin=ChangeOrigin.from_principal(principal), reason=f"production run {status.value}",
        clock=clock,
    )  # fmt: skip


def _already_running(machine: Machine, run: ProductionRun) -> ConflictError:
    return ConflictError(
        f"Machine {machine.code} already has an open run {run.id} since "
        f"{run.started_at.isoformat()}: stop it first"
    )


def _run_by_ref(
    session: Session, tenant_id: uuid.UUID, machine_id: uuid.UUID, ref: str
) -> ProductionRun | None:
    return session.exec(
        select(ProductionRun).where(
            ProductionRun.tenant_id == tenant_id,
            ProductionRun.machine_id == machine_id,
            ProductionRun.client_ref == ref,
        )
    ).first()


def _work_order(session: Session, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> WorkOrder:
    wo = session.exec(
        select(WorkOrder).where(WorkOrder.id == work_order_id, WorkOrder.tenant_id == tenant_id)
    ).first()
    if wo is None:
        raise NotFoundError("Work order", work_order_id)
    return wo


def stop_run(
    *, session: Session, principal: Principal, data: RunStop, clock: Clock = SYSTEM_CLOCK
) -> ProductionRun:
    """Closes a run (by ``run_id`` or the machine's open run), fixes its run time and downtime,
    and commits; the machine's status becomes ``idle``. Stopping a closed run by ``run_id``
    returns it unchanged (a retried stop).

    Raises:
        ValidationError: neither ``machine_id`` nor ``run_id``; ``stopped_at`` before the start
            or in the future.
        NotFoundError: the run or machine is not in the caller's tenant.
        ConflictError: the machine has no open run.
    """
    run = _run_to_stop(session, principal, data)
    if run.status == RunStatus.closed:
        return run
    stopped_at = data.stopped_at or clock.now()
    _check_not_future("stopped_at", stopped_at, clock)
    if stopped_at < run.started_at:
        raise ValidationError.single("stopped_at", "is before the run started")
    run.status = RunStatus.closed
    run.stopped_at = stopped_at
    _fix_times(session, run)
    stamp(session=session, row=run, principal=principal, clock=clock)
    machine = get_machine(session=session, principal=principal, machine_id=run.machine_id)
    if machine.status == MachineStatus.running:
        _machine_status(session, principal, machine, MachineStatus.idle, stopped_at, clock)
    session.commit()
    return run


def _run_to_stop(session: Session, principal: Principal, data: RunStop) -> ProductionRun:
    if data.run_id is not None:
        named = get_run(session=session, tenant_id=principal.tenant_id, run_id=data.run_id)
        if data.machine_id is not None and data.machine_id != named.machine_id:
            raise ValidationError.single("machine_id", "is not the run's machine")
        get_machine(session=session, principal=principal, machine_id=named.machine_id)
        return named
    if data.machine_id is None:
        raise ValidationError.single("machine_id", "give machine_id or run_id")
    machine = get_machine(session=session, principal=principal, machine_id=data.machine_id)
    run = open_run(session=session, tenant_id=principal.tenant_id, machine_id=machine.id)
    if run is None:
        raise ConflictError(f"Machine {machine.code} has no open run")
    return run


def _fix_times(session: Session, run: ProductionRun) -> None:
    """Sets a closed run's downtime (any downtime event within it) and run time."""
    assert run.stopped_at is not None
    span = [(run.started_at, run.stopped_at)]
    events = session.exec(
        select(DowntimeEvent).where(
            DowntimeEvent.tenant_id == run.tenant_id,
            DowntimeEvent.machine_id == run.machine_id,
            col(DowntimeEvent.started_at) < run.stopped_at,
        )
    ).all()
    stops = [(e.started_at, e.ended_at or run.stopped_at) for e in events]
    run.downtime_s = seconds(intersect(span, stops))
    run.run_time_s = (run.stopped_at - run.started_at).total_seconds() - run.downtime_s


def list_runs(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None = None,
    work_order_id: uuid.UUID | None = None,
    status: RunStatus | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ProductionRun]:
    """Runs, newest start first (ties by id), keyset-paged."""
    query = select(ProductionRun).where(ProductionRun.tenant_id == tenant_id)
    if machine_id is not None:
        query = query.where(ProductionRun.machine_id == machine_id)
    if work_order_id is not None:
        query = query.where(ProductionRun.work_order_id == work_order_id)
    if status is not None:
        query = query.where(ProductionRun.status == status)
    if started_from is not None:
        query = query.where(col(ProductionRun.started_at) >= started_from)
    if started_to is not None:
        query = query.where(col(ProductionRun.started_at) < started_to)
    order = [col(ProductionRun.started_at), col(ProductionRun.id)]
    rows, next_cursor = keyset_page(
        session, query, order=order, limit=limit, cursor=cursor, descending=True
    )
    return Page[ProductionRun](items=rows, next_cursor=next_cursor)


# --- counts ------------------------------------------------------------------------------------


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
    if machine_id is not None:
        query = query.where(CycleSubmission.machine_id == machine_id)
    if run_id is not None:
        query = query.where(CycleSubmission.run_id == run_id)
    if start is not None:
        query = query.where(col(CycleSubmission.recorded_at) >= start)
    if end is not None:
        query = query.where(col(CycleSubmission.recorded_at) < end)
    order = [col(CycleSubmission.recorded_at), col(CycleSubmission.id)]
    rows, next_cursor = keyset_page(
        session, query, order=order, limit=limit, cursor=cursor, descending=True
    )
    return Page[CycleSubmission](items=rows, next_cursor=next_cursor)


__all__ = [
    "get_machine",
    "get_run",
    "list_cycles",
    "list_runs",
    "open_run",
    "record_cycles",
    "start_run",
    "stop_run",
]
