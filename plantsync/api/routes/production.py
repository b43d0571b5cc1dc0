"""``/api/v1/production``: runs, batched counts and OEE snapshots.

Viewers read; operators (and devices with an operator key) start and stop runs and post counts.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from plantsync.api import docs
from plantsync.api.deps import AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes import production_examples as ex
from plantsync.core.models.production import (
    CycleBatch,
    CycleBatchResult,
    CycleSubmissionPublic,
    OEESnapshot,
    ProductionRunPublic,
    RunStart,
    RunStatus,
    RunStop,
)
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import cycles, oee, production

router = APIRouter(prefix="/api/v1/production", tags=["production"])


@router.post(
    "/run-start",
    response_model=ProductionRunPublic,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.RUN, 201, "Started")
    | docs.errors(404)
    | docs.error(
        409,
        f"Machine PRESS-01 already has an open run {ex.RUN_ID} since 2026-01-05T05:00:00+00:00: "
        "stop it first",
    ),
)
def run_start(
    body: Annotated[RunStart, docs.body("A PLC starts a run for a work order", ex.RUN_START)],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
) -> ProductionRunPublic:
    """Open a production run on a machine (one open run per machine; 409 for a second).

    A retried start with the same `client_ref` answers the run it created. The machine's
    status becomes `running` unless it is down, in maintenance or offline.
    """
    run = production.start_run(session=session, principal=caller, data=body, clock=clock)
    return ProductionRunPublic.model_validate(run, from_attributes=True)


@router.post(
    "/run-stop",
    response_model=ProductionRunPublic,
    responses=docs.answers(ex.RUN_CLOSED)
    | docs.errors(404)
    | docs.error(409, "Machine PRESS-01 has no open run"),
)
def run_stop(
    body: Annotated[RunStop, docs.body("Stop the machine's open run", ex.RUN_STOP)],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
) -> ProductionRunPublic:
    """Close the machine's open run (or the run named by `run_id`).

    Fixes the run's downtime (downtime events within it) and run time (duration minus
    downtime); the closed run is what outbound syncs push as production data. Stopping a
    closed run by `run_id` answers it unchanged; a machine without an open run answers 409.
    """
    run = production.stop_run(session=session, principal=caller, data=body, clock=clock)
    return ProductionRunPublic.model_validate(run, from_attributes=True)


@router.post("/cycles", response_model=CycleBatchResult, responses=docs.answers(ex.CYCLES_RESULT))
def post_cycles(
    body: Annotated[
        CycleBatch, docs.body("Two periods of a counter, the first one resent", ex.CYCLES_IN)
    ],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
) -> CycleBatchResult:
    """Good and scrap counts, in batches of up to 10,000 items (counters send sums per period).

    Not all-or-nothing: a malformed request (bad JSON, a negative count) is refused whole with
    422; otherwise each item gets its own result, in order — `created`, `duplicate` (its
    `client_ref` was already stored for that machine: not counted again, so a batch may be
    resent safely) or `error` (unknown machine or run, future time). A count joins the run
    named, else the machine's run covering its `recorded_at`.
    """
    return cycles.record_cycles(session=session, principal=caller, batch=body, clock=clock)


@router.get(
    "/runs",
    response_model=Page[ProductionRunPublic],
    responses=docs.answers(docs.page(ex.RUN_CLOSED)),
)
def list_runs(
    caller: AnyRole,
    session: ReadSession,
    machine_id: uuid.UUID | None = None,
    work_order_id: uuid.UUID | None = None,
    run_status: RunStatus | None = Query(None, alias="status"),
    started_from: AwareDatetime | None = Query(None, description="runs started at or after"),
    started_to: AwareDatetime | None = Query(None, description="runs started before"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[ProductionRunPublic]:
    """Production runs, newest start first."""
    page = production.list_runs(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id,
        work_order_id=work_order_id, status=run_status, started_from=started_from,
        started_to=started_to, limit=limit, cursor=cursor,
    )  # fmt: skip
    return Page[ProductionRunPublic](
        items=[ProductionRunPublic.model_validate(r, from_attributes=True) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/runs/{run_id}", response_model=ProductionRunPublic, responses=docs.answers(ex.RUN_CLOSED)
)
def get_run(run_id: uuid.UUID, caller: AnyRole, session: ReadSession) -> ProductionRunPublic:
    run = production.get_run(session=session, tenant_id=caller.tenant_id, run_id=run_id)
    return ProductionRunPublic.model_validate(run, from_attributes=True)


@router.get(
    "/cycles",
    response_model=Page[CycleSubmissionPublic],
    responses=docs.answers(docs.page(ex.CYCLE)),
)
def list_cycles(
    caller: AnyRole,
    session: ReadSession,
    machine_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    start: AwareDatetime | None = Query(None, alias="from", description="recorded at or after"),
    end: AwareDatetime | None = Query(None, alias="to", description="recorded before"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[CycleSubmissionPublic]:
    """Count submissions, newest `recorded_at` first."""
    page = cycles.list_cycles(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, run_id=run_id,
        start=start, end=end, limit=limit, cursor=cursor,
    )  # fmt: skip
    return Page[CycleSubmissionPublic](
        items=[CycleSubmissionPublic.model_validate(r, from_attributes=True) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/oee-snapshot", response_model=OEESnapshot, responses=docs.answers(ex.OEE) | docs.errors(404)
)
def oee_snapshot(
    caller: AnyRole,
    session: ReadSession,
    clock: ClockDep,
    machine_id: uuid.UUID,
    start: AwareDatetime = Query(alias="from", description="window start (with offset)"),
    end: AwareDatetime = Query(alias="to", description="window end; later than now ends now"),
) -> OEESnapshot:
    """OEE of one machine over a window, with the inputs used and the edges met.

    planned time = window and the machine's shifts (its own schedule, else its site's; no
    schedule: the whole window, flagged `no_shift_schedule`) - planned stops; run time =
    planned time - unplanned downtime; availability = run / planned; performance = ideal
    cycle time x total / run time; quality = good / total. A factor that cannot be computed is
    `null` with a flag saying why (`no_planned_time`, `no_run_time`, `no_ideal_cycle_time`,
    `no_counts`, `counts_without_run_time`); performance above 1 is reported unclamped with
    the flag `performance_over_100` (the ideal cycle time is probably wrong). Counts belong to
    the window by `recorded_at` (from < recorded_at <= to); open downtime counts until `to`.
    """
    return oee.oee_snapshot(
        session=session, principal=caller, machine_id=machine_id, start=start, end=end,
        clock=clock,
    )  # fmt: skip
