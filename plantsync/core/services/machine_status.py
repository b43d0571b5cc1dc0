"""Machine status: the current state of each machine and its history of status intervals.

A status change closes the machine's open interval and opens a new one, in the caller's
transaction, and stamps the machine's change (``services.changes``) with the caller's origin.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.plant import (
    Machine,
    MachineStatus,
    MachineStatusChange,
    MachineStatusPublic,
    MachineTimeline,
    StatusIntervalPublic,
)
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.plant_common import check_window, get_owned
from plantsync.errors import ValidationError

MAX_TIMELINE = timedelta(days=366)


def apply_machine_status(
    *,
    session: Session,
    machine: Machine,
    status: MachineStatus,
    at: datetime,
    origin: ChangeOrigin,
    reason: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> bool:
    """Moves ``machine`` to ``status`` at ``at`` inside the caller's transaction (no commit).

    Closes the open status interval and opens a new one. A change to the current status is
    a no-op (returns False). ``at`` earlier than the current status's start is clamped to it,
    so the history never overlaps.
    """
    if machine.status == status:
        return False
    at = max(at, machine.status_since)
    open_rows = session.execute(
        select(MachineStatusChange).where(
            MachineStatusChange.machine_id == machine.id,  # type: ignore[arg-type]
            MachineStatusChange.ended_at.is_(None),  # type: ignore[union-attr]
        )
    ).scalars()
    for row in open_rows:
        row.ended_at = at
    session.add(
        MachineStatusChange(
            tenant_id=machine.tenant_id,
            machine_id=machine.id,
            status=status,
            started_at=at,
            reason=reason,
            origin_kind=origin.kind,
        )
    )
    machine.status = status
    machine.status_since = at
    stamp_change(session, machine, origin, clock=clock)
    return True


def set_machine_status(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID,
    status: MachineStatus,
    origin: ChangeOrigin,
    at: datetime | None = None,
    reason: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Machine:
    """Reports a machine's status (PLC gateways, operators) and commits."""
    machine = get_owned(session, Machine, tenant_id, machine_id, "machine")
    when = at or clock.now()
    if when > clock.now() + timedelta(minutes=5):
        raise ValidationError.single("at", "may not be in the future")
    apply_machine_status(
        session=session,
        machine=machine,
        status=status,
        at=when,
        origin=origin,
        reason=reason,
        clock=clock,
    )
    session.commit()
    return machine


def _status_public(machine: Machine, now: datetime) -> MachineStatusPublic:
    return MachineStatusPublic(
        machine_id=machine.id,
        code=machine.code,
        name=machine.name,
        site_id=machine.site_id,
        status=machine.status,
        since=machine.status_since,
        duration_s=max(0.0, (now - machine.status_since).total_seconds()),
    )


def machine_status(
    *, session: Session, tenant_id: uuid.UUID, machine_id: uuid.UUID, clock: Clock = SYSTEM_CLOCK
) -> MachineStatusPublic:
    machine = get_owned(session, Machine, tenant_id, machine_id, "machine")
    return _status_public(machine, clock.now())


def all_machine_statuses(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    site_id: uuid.UUID | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[MachineStatusPublic]:
    """Every active machine's current status, by code: one query, for plant displays and BI."""
    m: Any = Machine
    stmt = select(Machine).where(m.tenant_id == tenant_id, m.is_active.is_(True))
    if site_id is not None:
        stmt = stmt.where(m.site_id == site_id)
    now = clock.now()
    rows = session.execute(stmt.order_by(m.code, m.id)).scalars()
    return [_status_public(r, now) for r in rows]


def machine_timeline(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID,
    start: datetime,
    end: datetime,
    clock: Clock = SYSTEM_CLOCK,
) -> MachineTimeline:
    """The status intervals overlapping ``[start, end)``, clipped to the window, oldest first."""
    check_window(start, end, max_span=MAX_TIMELINE)
    get_owned(session, Machine, tenant_id, machine_id, "machine")
    c: Any = MachineStatusChange
    stmt = (
        select(MachineStatusChange)
        .where(c.machine_id == machine_id, c.started_at < end)
        .where(or_(c.ended_at.is_(None), c.ended_at > start))
        .order_by(c.started_at, c.id)
    )
    now = clock.now()
    intervals = []
    for row in session.execute(stmt).scalars():
        s = max(row.started_at, start)
        e = min(row.ended_at or min(now, end), end)
        intervals.append(
            StatusIntervalPublic(
                status=row.status,
                started_at=s,
                ended_at=None if row.ended_at is None else min(row.ended_at, end),
                duration_s=max(0.0, (e - s).total_seconds()),
                reason=row.reason,
            )
        )
    return MachineTimeline(machine_id=machine_id, start=start, end=end, intervals=intervals)


__all__ = [
    "all_machine_statuses",
    "apply_machine_status",
    "machine_status",
    "machine_timeline",
    "set_machine_status",
]
