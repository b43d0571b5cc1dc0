"""``/api/v1/calls``: andon calls from buttons and PLCs (initiate -> claim -> respond -> close)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlmodel import Session

from plantsync.api.deps import AnyRole, ClockDep, Operator, ReadSession, WriteSession
from plantsync.api.routes.plant_examples import CALL, MACHINE_ID, answers, body, page
from plantsync.core.clock import Clock
from plantsync.core.models.downtime import CallCreate, CallPublic, CallStatus, CallStep, CallType
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services import calls

router = APIRouter(prefix="/api/v1/calls", tags=["andon calls"])

_STEP_RESPONSES = {
    **answers(CALL),
    409: {"description": "The call is not in the state this step needs"},
}


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CallPublic,
    responses=answers(CALL, 201, "Call raised")
    | answers(
        CALL, 200, "An open call of this type already existed on the machine; it is returned",
        model=CallPublic,
    ),
)  # fmt: skip
def raise_call(
    caller: Operator,
    reader: ReadSession,
    session: WriteSession,
    clock: ClockDep,
    response: Response,
    data: Annotated[
        CallCreate, body("Button DT pressed", {"machine_id": MACHINE_ID, "call_type": "DT"})
    ],
) -> CallPublic:
    """Raises a call. ``DT`` and ``MAINT`` stop the machine: a downtime event opens and the
    machine goes ``down`` / ``maintenance``. Pressing again while the call is open returns it
    (200)."""
    # An open call is looked up in the read session first: a repeated press answers without
    # a write transaction (on SQLite, without waiting for the write lock).
    call, created = calls.raise_call(
        session=session, principal=caller, data=data, clock=clock, reader=reader
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return calls.to_public(call)


@router.get("", response_model=Page[CallPublic], responses=answers(page(CALL)))
def list_calls(
    caller: AnyRole,
    session: ReadSession,
    machine_id: uuid.UUID | None = None,
    status: CallStatus | None = None,
    call_type: CallType | None = None,
    open: Annotated[bool | None, Query(description="true: not closed")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[CallPublic]:
    """Calls newest first."""
    return calls.list_calls(
        session=session, tenant_id=caller.tenant_id, machine_id=machine_id, status=status,
        call_type=call_type, is_open=open, limit=limit, cursor=cursor,
    )  # fmt: skip


@router.get("/{call_id}", response_model=CallPublic, responses=answers(CALL))
def get_call(caller: AnyRole, session: ReadSession, call_id: uuid.UUID) -> CallPublic:
    return calls.to_public(
        calls.get_call(session=session, tenant_id=caller.tenant_id, call_id=call_id)
    )


ClaimBody = Annotated[CallStep | None, body("Claim", {"by": "maintenance team B"})]
RespondBody = Annotated[CallStep | None, body("Respond", {"by": "J. Meyer"})]
CloseBody = Annotated[
    CallStep | None, body("Close", {"reason_code": "JAM", "note": "cleared the infeed"})
]


def _advance(
    caller: Principal, session: Session, clock: Clock, call_id: uuid.UUID, step: str,
    data: CallStep | None,
) -> CallPublic:  # fmt: skip
    call = calls.advance_call(
        session=session, principal=caller, call_id=call_id, step=step, data=data, clock=clock
    )
    return calls.to_public(call)


@router.post("/{call_id}/claim", response_model=CallPublic, responses=_STEP_RESPONSES)
def claim_call(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    call_id: uuid.UUID,
    data: ClaimBody = None,
) -> CallPublic:
    """Someone takes the call (needs an ``initiated`` call; 409 otherwise)."""
    return _advance(caller, session, clock, call_id, "claim", data)


@router.post("/{call_id}/respond", response_model=CallPublic, responses=_STEP_RESPONSES)
def respond_call(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    call_id: uuid.UUID,
    data: RespondBody = None,
) -> CallPublic:
    """The responder is at the machine (needs a ``claimed`` call; 409 otherwise)."""
    return _advance(caller, session, clock, call_id, "respond", data)


@router.post("/{call_id}/close", response_model=CallPublic, responses=_STEP_RESPONSES)
def close_call(
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    call_id: uuid.UUID,
    data: CloseBody = None,
) -> CallPublic:
    """Closes the call (needs a ``responded`` call; 409 otherwise): ends its downtime event,
    may classify it (reason, failure mode, root cause) and gives the machine its status back."""
    return _advance(caller, session, clock, call_id, "close", data)
