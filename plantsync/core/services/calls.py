"""Andon calls from buttons, panels and PLCs: initiate -> claim -> respond -> close.

A call whose type stops the machine (``DT``, ``MAINT``) opens a downtime event and puts the
machine ``down`` / in ``maintenance``; closing the call ends that event and gives the machine
back the status it had before (unless another stopping call on it is still open).

Raising a call is idempotent per machine and type: while a call is open, pressing the button
again returns that call (``created`` is False) instead of opening a second one. That answer is
read without a write transaction (one query for the machine and its open call), so a repeated
press never waits for SQLite's write lock; a new call is one short write transaction that
checks again under the lock, so calls stay fast while a background sync writes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import (
    AndonCall,
    CallCreate,
    CallPublic,
    CallStatus,
    CallStep,
    CallType,
    DowntimeEvent,
)
from plantsync.core.models.plant import Machine, MachineStatus
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.downtime import check_machine_scope, end_downtime
from plantsync.core.services.machine_status import apply_machine_status
from plantsync.core.services.plant_common import get_owned, keyset_page, where_equal
from plantsync.errors import ConflictError, ValidationError

_NEXT: dict[str, tuple[CallStatus, CallStatus]] = {
    "claim": (CallStatus.initiated, CallStatus.claimed),
    "respond": (CallStatus.claimed, CallStatus.responded),
    "close": (CallStatus.responded, CallStatus.closed),
}
_STOP_STATUS = {CallType.DT: MachineStatus.down, CallType.MAINT: MachineStatus.maintenance}


def to_public(call: AndonCall) -> CallPublic:
    return CallPublic.model_validate(call, from_attributes=True)


def get_call(*, session: Session, tenant_id: uuid.UUID, call_id: uuid.UUID) -> AndonCall:
    return get_owned(session, AndonCall, tenant_id, call_id, "call")


def raise_call(
    *,
    session: Session,
    principal: Principal,
    data: CallCreate,
    clock: Clock = SYSTEM_CLOCK,
    reader: Session | None = None,
) -> tuple[AndonCall, bool]:
    """Opens a call (and, for stopping types, a downtime event) and commits.

    Args:
        session: the write session the new call is committed in.
        reader: a read session to look for an open call first; one found there is returned
            without ``session`` ever starting a (write) transaction.

    Returns the call and whether it was created (False: an open call of this type already
    existed on the machine and is returned as is).

    Raises:
        ValidationError: no such machine in the caller's tenant (``machine_id``).
        PermissionDeniedError: an API key not allowed on the machine.
    """
    if reader is not None:
        _, existing = _machine_and_open_call(reader, principal, data)
        if existing is not None:
            return existing, False
    machine, existing = _machine_and_open_call(session, principal, data)
    if existing is not None:
        return existing, False
    now = clock.now()
    call = AndonCall(
        tenant_id=principal.tenant_id, machine_id=machine.id, call_type=data.call_type,
        note=data.note, initiated_at=now, initiated_by=principal.label[:200],
    )  # fmt: skip
    if data.call_type.stops_machine:
        _stop_machine(session, call, machine, data, principal, clock)
    session.add(call)
    session.commit()
    return call, True


def _machine_and_open_call(
    session: Session, principal: Principal, data: CallCreate
) -> tuple[Machine, AndonCall | None]:
    """The caller's machine and its oldest open call of the type, in one query."""
    c: Any = AndonCall
    m: Any = Machine
    row = session.execute(
        select(Machine, AndonCall)
        .outerjoin(
            AndonCall,
            and_(
                c.machine_id == m.id,
                c.call_type == data.call_type,
                c.status != CallStatus.closed,
            ),
        )
        .where(m.id == data.machine_id)
        .order_by(c.initiated_at)
        .limit(1)
    ).first()
    if row is None or row[0].tenant_id != principal.tenant_id:
        raise ValidationError.single("machine_id", f"no machine {data.machine_id}")
    machine, existing = row
    check_machine_scope(principal, machine.id)
    return machine, existing


def _stop_machine(
    session: Session,
    call: AndonCall,
    machine: Machine,
    data: CallCreate,
    principal: Principal,
    clock: Clock,
) -> None:
    origin = ChangeOrigin.from_principal(principal)
    event = DowntimeEvent(
        tenant_id=machine.tenant_id, machine_id=machine.id, started_at=call.initiated_at,
        reason_code=data.reason_code or data.call_type.value, planned=False, source=data.source,
        description=data.note, created_at=clock.now(),
    )  # fmt: skip
    stamp_change(session, event, origin, clock=clock)
    # The call row refers to the event, but no ORM relationship tells the flush to insert the
    # event first; on a machine already in the stop status nothing below autoflushes it.
    session.flush()
    call.downtime_event_id = event.id
    call.machine_status_before = machine.status
    apply_machine_status(
        session=session, machine=machine, status=_STOP_STATUS[data.call_type],
        at=call.initiated_at, origin=origin, reason=f"andon {data.call_type.value}", clock=clock,
    )  # fmt: skip


def advance_call(
    *,
    session: Session,
    principal: Principal,
    call_id: uuid.UUID,
    step: str,
    data: CallStep | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> AndonCall:
    """Takes one lifecycle ``step`` (claim | respond | close); 409 when the call is not in the
    state that step needs. ``close`` ends the downtime event and restores the machine."""
    if step not in _NEXT:
        raise ValidationError.single("step", "must be claim, respond or close")
    data = data or CallStep()
    call = get_call(session=session, tenant_id=principal.tenant_id, call_id=call_id)
    check_machine_scope(principal, call.machine_id)
    needed, target = _NEXT[step]
    if call.status != needed:
        raise ConflictError(
            f"Cannot {step} a call that is {call.status.value}; {step} needs a {needed.value} call"
        )
    now = clock.now()
    who = (data.by or principal.label)[:200]
    setattr(call, f"{target.value}_at", now)
    setattr(call, f"{target.value}_by", who)
    call.status = target
    if data.note:
        call.note = data.note
    if target == CallStatus.closed:
        _release_machine(session, call, data, principal, now, clock)
    session.commit()
    return call


def _release_machine(
    session: Session,
    call: AndonCall,
    data: CallStep,
    principal: Principal,
    now: datetime,
    clock: Clock,
) -> None:
    if call.downtime_event_id is None:
        return
    origin = ChangeOrigin.from_principal(principal)
    event = session.get(DowntimeEvent, call.downtime_event_id)
    if event is not None:
        end_downtime(
            session=session, event=event, at=now, origin=origin, clock=clock,
            reason_code=data.reason_code, failure_mode=data.failure_mode, root_cause=data.root_cause,
        )  # fmt: skip
    machine = session.get(Machine, call.machine_id)
    if machine is None or _other_stopping_call_open(session, call):
        return
    apply_machine_status(
        session=session, machine=machine, status=call.machine_status_before or MachineStatus.idle,
        at=now, origin=origin, reason=f"andon {call.call_type.value} closed", clock=clock,
    )  # fmt: skip


def _other_stopping_call_open(session: Session, call: AndonCall) -> bool:
    c: Any = AndonCall
    stmt = select(c.id).where(
        c.machine_id == call.machine_id,
        c.id != call.id,
        c.status != CallStatus.closed,
        c.call_type.in_([t for t in CallType if t.stops_machine]),
    )
    return session.execute(stmt.limit(1)).first() is not None


def list_calls(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None = None,
    status: CallStatus | None = None,
    call_type: CallType | None = None,
    is_open: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[CallPublic]:
    """Calls newest first (``initiated_at`` desc, then id)."""
    c: Any = AndonCall
    stmt = select(AndonCall).where(c.tenant_id == tenant_id)
    stmt = where_equal(
        stmt, (c.machine_id, machine_id), (c.status, status), (c.call_type, call_type)
    )
    if is_open is not None:
        stmt = stmt.where(
            c.status != CallStatus.closed if is_open else c.status == CallStatus.closed
        )
    rows, nxt = keyset_page(
        session, stmt, order=[c.initiated_at, c.id], limit=limit, cursor=cursor, descending=True
    )
    return Page[CallPublic](items=[to_public(r) for r in rows], next_cursor=nxt)
