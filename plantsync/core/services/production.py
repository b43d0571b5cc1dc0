"""Production runs: start, stop, look-ups and the run list.

Rules:

- One open run per machine; a second start answers 409 (a retried start carrying the same
  ``client_ref`` gets the run it already created).
- Starting, stopping and every change of a run's figures stamps the run's change (so an
  outbound sync pushes the closed run again with its new figures).

Counts reported against runs are stored by ``services.cycles``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import Machine, MachineStatus
from plantsync.core.models.production import (
    ProductionRun,
    RunStart,
    RunStatus,
    RunStop,
)
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.intervals import intersect, seconds
from plantsync.core.services.machine_status import apply_machine_status
from plantsync.core.services.plant_common import keyset_page, where_equal
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
    query = where_equal(
        query,
        (ProductionRun.machine_id, machine_id),
        (ProductionRun.work_order_id, work_order_id),
        (ProductionRun.status, status),
    )
    if started_from is not None:
        query = query.where(col(ProductionRun.started_at) >= started_from)
    if started_to is not None:
        query = query.where(col(ProductionRun.started_at) < started_to)
    order = [col(ProductionRun.started_at), col(ProductionRun.id)]
    rows, next_cursor = keyset_page(
        session, query, order=order, limit=limit, cursor=cursor, descending=True
    )
    return Page[ProductionRun](items=rows, next_cursor=next_cursor)


__all__ = [
    "get_machine",
    "get_run",
    "list_runs",
    "open_run",
    "start_run",
    "stop_run",
]
