"""Machines (assets): CRUD, current status and status history, bulk upsert by ``code``.

Every write stamps the machine's change columns (``services.changes``) with the caller's
origin; an upsert that changes nothing does not stamp, so re-sending the same master data
creates no outbound change.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import AndonCall, DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import (
    Machine,
    MachineCreate,
    MachinePublic,
    MachineStatus,
    MachineStatusChange,
    MachineStatusPublic,
    MachineTimeline,
    MachineUpdate,
    StatusIntervalPublic,
)
from plantsync.core.paging import Page
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.plant_common import (
    BulkItemResult,
    BulkOutcome,
    BulkResult,
    apply_values,
    changed_fields,
    check_window,
    commit_or_conflict,
    get_owned,
    keyset_page,
    run_bulk,
    validate_item,
    where_equal,
    where_search,
)
from plantsync.core.services.sites import resolve_site_ref
from plantsync.errors import ConflictError, ValidationError

MAX_TIMELINE = timedelta(days=366)


def to_public(machine: Machine) -> MachinePublic:
    return MachinePublic.model_validate(machine, from_attributes=True)


def get_machine(*, session: Session, tenant_id: uuid.UUID, machine_id: uuid.UUID) -> Machine:
    """The machine, or ``NotFoundError`` (also for another tenant's machine)."""
    return get_owned(session, Machine, tenant_id, machine_id, "machine")


def find_machine_by_code(*, session: Session, tenant_id: uuid.UUID, code: str) -> Machine | None:
    stmt = select(Machine).where(Machine.tenant_id == tenant_id, Machine.code == code)  # type: ignore[arg-type]
    return session.execute(stmt).scalar_one_or_none()


def resolve_machine_ref(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None,
    machine_code: str | None,
    field: str = "machine_id",
) -> uuid.UUID | None:
    """The id of the machine named by id or code in this tenant; ``ValidationError`` if unknown."""
    if machine_id is not None:
        machine = session.get(Machine, machine_id)
        if machine is None or machine.tenant_id != tenant_id:
            raise ValidationError.single(field, f"no machine {machine_id}")
        return machine_id
    if machine_code:
        found = find_machine_by_code(session=session, tenant_id=tenant_id, code=machine_code)
        if found is None:
            raise ValidationError.single("machine_code", f"no machine with code {machine_code!r}")
        return found.id
    return None


def create_machine(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: MachineCreate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> Machine:
    """Creates a machine (its status history starts now); ``ConflictError`` if the code exists."""
    machine = _new_machine(
        session=session, tenant_id=tenant_id, data=data, origin=origin, clock=clock
    )
    _commit_unique(session, data.code)
    return machine


def _new_machine(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: MachineCreate,
    origin: ChangeOrigin,
    clock: Clock,
) -> Machine:
    if find_machine_by_code(session=session, tenant_id=tenant_id, code=data.code) is not None:
        raise ConflictError(f"A machine with code {data.code!r} already exists")
    site_id = resolve_site_ref(
        session=session, tenant_id=tenant_id, site_id=data.site_id, site_code=data.site_code
    )
    now = clock.now()
    values = data.model_dump(exclude={"site_id", "site_code"})
    machine = Machine(
        **values, tenant_id=tenant_id, site_id=site_id, status_since=now, created_at=now
    )
    stamp_change(session, machine, origin, clock=clock)
    session.add(
        MachineStatusChange(
            tenant_id=tenant_id,
            machine_id=machine.id,
            status=machine.status,
            started_at=now,
            origin_kind=origin.kind,
        )
    )
    return machine


def _commit_unique(session: Session, code: str) -> None:
    commit_or_conflict(session, f"A machine with code {code!r} already exists")


def list_machines(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    site_id: uuid.UUID | None = None,
    status: MachineStatus | None = None,
    type: str | None = None,
    is_active: bool | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[MachinePublic]:
    """Machines sorted by code (then id), filtered by the given fields; ``q`` searches code/name."""
    m: Any = Machine
    stmt = select(Machine).where(m.tenant_id == tenant_id)
    stmt = where_equal(
        stmt, (m.site_id, site_id), (m.status, status), (m.type, type), (m.is_active, is_active)
    )
    stmt = where_search(stmt, q, m.code, m.name)
    rows, nxt = keyset_page(session, stmt, order=[m.code, m.id], limit=limit, cursor=cursor)
    return Page[MachinePublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_machine(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID,
    data: MachineUpdate,
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> Machine:
    """Applies the fields present in ``data``; stamps a change only if something changed."""
    machine = get_machine(session=session, tenant_id=tenant_id, machine_id=machine_id)
    values = _update_values(session, tenant_id, machine, data.model_dump(exclude_unset=True))
    diff = changed_fields(machine, values)
    if diff:
        apply_values(machine, diff)
        stamp_change(session, machine, origin, clock=clock)
        _commit_unique(session, machine.code)
    return machine


def _update_values(
    session: Session, tenant_id: uuid.UUID, machine: Machine, values: dict[str, Any]
) -> dict[str, Any]:
    for required in ("code", "name", "is_active"):
        if required in values and values[required] is None:
            raise ValidationError.single(required, "may not be null")
    if "site_id" in values or "site_code" in values:
        values["site_id"] = resolve_site_ref(
            session=session,
            tenant_id=tenant_id,
            site_id=values.get("site_id"),
            site_code=values.pop("site_code", None),
        )
    new_code = values.get("code")
    if (
        new_code
        and new_code != machine.code
        and find_machine_by_code(session=session, tenant_id=tenant_id, code=new_code) is not None
    ):
        raise ConflictError(f"A machine with code {new_code!r} already exists")
    return values


def delete_machine(*, session: Session, tenant_id: uuid.UUID, machine_id: uuid.UUID) -> None:
    """Deletes a machine without history; one with work orders, downtime or calls is refused
    (409): deactivate it (``is_active=false``) instead, so history and syncs stay whole."""
    machine = get_machine(session=session, tenant_id=tenant_id, machine_id=machine_id)
    for model in (WorkOrder, DowntimeEvent, AndonCall):
        ref: Any = model
        if session.execute(select(ref.id).where(ref.machine_id == machine_id).limit(1)).first():
            raise ConflictError(
                f"Machine {machine.code} has history ({ref.__tablename__}); set is_active=false instead"
            )
    for change in session.execute(
        select(MachineStatusChange).where(MachineStatusChange.machine_id == machine_id)  # type: ignore[arg-type]
    ).scalars():
        session.delete(change)
    session.flush()
    session.delete(machine)
    session.commit()


# --- status ----------------------------------------------------------------------------------


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
    machine = get_machine(session=session, tenant_id=tenant_id, machine_id=machine_id)
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
    machine = get_machine(session=session, tenant_id=tenant_id, machine_id=machine_id)
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
    get_machine(session=session, tenant_id=tenant_id, machine_id=machine_id)
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


# --- bulk upsert -----------------------------------------------------------------------------


def upsert_machines(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    items: list[Any],
    origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK,
) -> BulkResult:
    """Creates or updates machines matched by ``code``; one result per item, in order.

    Each item is a ``MachineCreate`` (or a dict of its fields). An existing machine gets only
    the fields the item sets; ``status`` is applied through the status history. Items that fail
    are reported and skipped; the rest are committed (see ``run_bulk``). The inbound sync calls
    this with ``ChangeOrigin.inbound_sync(connection_id)``.
    """
    seen: set[str] = set()

    def handle(index: int, raw: Any) -> BulkItemResult:
        data: MachineCreate = validate_item(MachineCreate, raw)
        if data.code in seen:
            raise ValidationError.single("code", f"{data.code!r} appears twice in this request")
        seen.add(data.code)
        existing = find_machine_by_code(session=session, tenant_id=tenant_id, code=data.code)
        if existing is None:
            created = _new_machine(
                session=session, tenant_id=tenant_id, data=data, origin=origin, clock=clock
            )
            return BulkItemResult(
                index=index, key=data.code, outcome=BulkOutcome.created, id=created.id
            )
        changed = _upsert_existing(session, tenant_id, existing, data, origin, clock)
        outcome = BulkOutcome.updated if changed else BulkOutcome.unchanged
        return BulkItemResult(index=index, key=data.code, outcome=outcome, id=existing.id)

    return run_bulk(session, items, handle, key_field="code")


def _upsert_existing(
    session: Session,
    tenant_id: uuid.UUID,
    machine: Machine,
    data: MachineCreate,
    origin: ChangeOrigin,
    clock: Clock,
) -> bool:
    raw = data.model_dump(exclude_unset=True, exclude={"code"})
    status = raw.pop("status", None)
    values = _update_values(session, tenant_id, machine, raw)
    diff = changed_fields(machine, values)
    status_changed = status is not None and status != machine.status
    if diff:
        apply_values(machine, diff)
        stamp_change(session, machine, origin, clock=clock)
    if status_changed:
        apply_machine_status(
            session=session,
            machine=machine,
            status=status,
            at=clock.now(),
            origin=origin,
            clock=clock,
        )
    return bool(diff) or status_changed


__all__ = [
    "all_machine_statuses",
    "apply_machine_status",
    "create_machine",
    "delete_machine",
    "find_machine_by_code",
    "get_machine",
    "list_machines",
    "machine_status",
    "machine_timeline",
    "resolve_machine_ref",
    "set_machine_status",
    "to_public",
    "update_machine",
    "upsert_machines",
]
