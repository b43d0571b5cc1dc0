"""Downtime events: a machine stopped from ``started_at`` to ``ended_at`` (null while open),
planned or not, with reason code, failure mode and root cause (library codes) and a source.

API keys limited to some machines may only write events of those machines (403 otherwise;
a failed item in a bulk upsert).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import (
    AndonCall,
    DowntimeCreate,
    DowntimeEvent,
    DowntimePublic,
    DowntimeSource,
    DowntimeUpdate,
    DowntimeUpsert,
)
from plantsync.core.models.maintenance import FailureMode, RootCause, WorkOrder
from plantsync.core.models.plant import Machine
from plantsync.core.paging import Page
from plantsync.core.principal import Principal
from plantsync.core.services.changes import ChangeOrigin, stamp_change
from plantsync.core.services.libraries import check_code
from plantsync.core.services.machines import resolve_machine_ref
from plantsync.core.services.plant_common import (
    BulkItemResult,
    BulkOutcome,
    BulkResult,
    apply_values,
    changed_fields,
    commit_or_conflict,
    get_owned,
    keyset_page,
    run_bulk,
    validate_item,
    where_equal,
)
from plantsync.errors import ConflictError, PermissionDeniedError, ValidationError

FUTURE_SLACK = timedelta(minutes=5)  # clocks of PLCs and panels drift


def to_public(event: DowntimeEvent) -> DowntimePublic:
    minutes = None
    if event.ended_at is not None:
        minutes = round((event.ended_at - event.started_at).total_seconds() / 60, 3)
    return DowntimePublic.model_validate({**event.model_dump(), "duration_minutes": minutes})


def get_downtime(*, session: Session, tenant_id: uuid.UUID, event_id: uuid.UUID) -> DowntimeEvent:
    return get_owned(session, DowntimeEvent, tenant_id, event_id, "downtime event")


def check_machine_scope(principal: Principal | None, machine_id: uuid.UUID) -> None:
    """``PermissionDeniedError`` when ``principal`` is an API key not allowed on the machine."""
    if principal is not None and not principal.can_touch_machine(machine_id):
        raise PermissionDeniedError(f"This API key may not write data of machine {machine_id}")


def _check_fields(
    session: Session, tenant_id: uuid.UUID, values: dict[str, Any], now: datetime
) -> None:
    """Validates the fields present in ``values`` (times, library codes, work order)."""
    start, end = values.get("started_at"), values.get("ended_at")
    if start is not None and start > now + FUTURE_SLACK:
        raise ValidationError.single("started_at", "may not be in the future")
    if end is not None and end > now + FUTURE_SLACK:
        raise ValidationError.single("ended_at", "may not be in the future")
    if start is not None and end is not None and end < start:
        raise ValidationError.single("ended_at", "must not be before started_at")
    if "failure_mode" in values:
        check_code(
            session=session, model=FailureMode, tenant_id=tenant_id, code=values["failure_mode"]
        )
    if "root_cause" in values:
        check_code(session=session, model=RootCause, tenant_id=tenant_id, code=values["root_cause"])
    wo_id = values.get("work_order_id")
    if wo_id is not None:
        wo = session.get(WorkOrder, wo_id)
        if wo is None or wo.tenant_id != tenant_id:
            raise ValidationError.single("work_order_id", f"no work order {wo_id}")


def _find_by_ref(session: Session, tenant_id: uuid.UUID, ref: str) -> DowntimeEvent | None:
    d: Any = DowntimeEvent
    return session.execute(
        select(DowntimeEvent).where(d.tenant_id == tenant_id, d.external_ref == ref)
    ).scalar_one_or_none()


def _new_event(
    session: Session,
    tenant_id: uuid.UUID,
    data: DowntimeCreate,
    origin: ChangeOrigin,
    clock: Clock,
    principal: Principal | None,
) -> DowntimeEvent:
    machine_id = resolve_machine_ref(
        session=session,
        tenant_id=tenant_id,
        machine_id=data.machine_id,
        machine_code=data.machine_code,
    )
    if machine_id is None:
        raise ValidationError.single("machine_id", "give machine_id or machine_code")
    check_machine_scope(principal, machine_id)
    values = data.model_dump(exclude={"machine_id", "machine_code"})
    _check_fields(session, tenant_id, values, clock.now())
    if data.external_ref and _find_by_ref(session, tenant_id, data.external_ref):
        raise ConflictError(f"A downtime event with external_ref {data.external_ref!r} exists")
    event = DowntimeEvent(
        **values, tenant_id=tenant_id, machine_id=machine_id, created_at=clock.now()
    )
    stamp_change(session, event, origin, clock=clock)
    return event


def create_downtime(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    data: DowntimeCreate,
    origin: ChangeOrigin,
    principal: Principal | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> DowntimeEvent:
    """Records a downtime event (open when ``ended_at`` is null) and commits."""
    event = _new_event(session, tenant_id, data, origin, clock, principal)
    commit_or_conflict(session, "A downtime event with this external_ref exists")
    return event


def list_downtime(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    machine_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    planned: bool | None = None,
    source: DowntimeSource | None = None,
    reason_code: str | None = None,
    is_open: bool | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[DowntimePublic]:
    """Events newest first (``started_at`` desc, then id); ``start``/``end`` keep the events
    overlapping that window; ``is_open`` those still running (or finished)."""
    d: Any = DowntimeEvent
    stmt = select(DowntimeEvent).where(d.tenant_id == tenant_id)
    stmt = where_equal(
        stmt,
        (d.machine_id, machine_id),
        (d.planned, planned),
        (d.source, source),
        (d.reason_code, reason_code),
    )
    if site_id is not None:
        m: Any = Machine
        stmt = stmt.where(d.machine_id.in_(select(m.id).where(m.site_id == site_id)))
    if is_open is not None:
        stmt = stmt.where(d.ended_at.is_(None) if is_open else d.ended_at.is_not(None))
    if end is not None:
        stmt = stmt.where(d.started_at < end)
    if start is not None:
        stmt = stmt.where(or_(d.ended_at.is_(None), d.ended_at > start))
    rows, nxt = keyset_page(
        session, stmt, order=[d.started_at, d.id], limit=limit, cursor=cursor, descending=True
    )
    return Page[DowntimePublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_downtime(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    event_id: uuid.UUID,
    data: DowntimeUpdate,
    origin: ChangeOrigin,
    principal: Principal | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> DowntimeEvent:
    """Changes the given fields (e.g. ends the event, classifies it) and commits."""
    event = get_downtime(session=session, tenant_id=tenant_id, event_id=event_id)
    check_machine_scope(principal, event.machine_id)
    _update(session, tenant_id, event, data.model_dump(exclude_unset=True), origin, clock)
    session.commit()
    return event


def _update(
    session: Session,
    tenant_id: uuid.UUID,
    event: DowntimeEvent,
    values: dict[str, Any],
    origin: ChangeOrigin,
    clock: Clock,
) -> bool:
    for field in ("started_at", "planned", "source"):
        if field in values and values[field] is None:
            raise ValidationError.single(field, "may not be null")
    merged = {
        "started_at": values.get("started_at", event.started_at),
        "ended_at": values.get("ended_at", event.ended_at),
        **{k: v for k, v in values.items() if k not in ("started_at", "ended_at")},
    }
    _check_fields(session, tenant_id, merged, clock.now())
    diff = changed_fields(event, values)
    if diff:
        apply_values(event, diff)
        stamp_change(session, event, origin, clock=clock)
    return bool(diff)


def delete_downtime(*, session: Session, tenant_id: uuid.UUID, event_id: uuid.UUID) -> None:
    """Deletes an event that no andon call refers to (409 otherwise)."""
    event = get_downtime(session=session, tenant_id=tenant_id, event_id=event_id)
    c: Any = AndonCall
    if session.execute(select(c.id).where(c.downtime_event_id == event.id).limit(1)).first():
        raise ConflictError("This downtime event belongs to an andon call; close the call instead")
    session.delete(event)
    session.commit()


def end_downtime(
    *, session: Session, event: DowntimeEvent, at: datetime, origin: ChangeOrigin,
    clock: Clock = SYSTEM_CLOCK, **classify: str | None,
) -> None:  # fmt: skip
    """Ends an open event at ``at`` inside the caller's transaction; ``classify`` may set
    ``reason_code`` / ``failure_mode`` / ``root_cause`` (checked against the libraries)."""
    values: dict[str, Any] = {k: v for k, v in classify.items() if v is not None}
    if event.ended_at is None:
        values["ended_at"] = max(at, event.started_at)
    _update(session, event.tenant_id, event, values, origin, clock)


# --- bulk upsert -----------------------------------------------------------------------------


def upsert_downtime(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    items: list[Any],
    origin: ChangeOrigin,
    principal: Principal | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> BulkResult:
    """Creates or updates downtime events matched by ``id``, else by ``external_ref``; an item
    with neither is created. One result per item (see ``run_bulk``: not all-or-nothing)."""
    seen: set[str] = set()

    def handle(index: int, raw: Any) -> BulkItemResult:
        data: DowntimeUpsert = validate_item(DowntimeUpsert, raw)
        key = str(data.id) if data.id else data.external_ref
        if key is not None:
            if key in seen:
                raise ValidationError.single("id", f"{key!r} appears twice in this request")
            seen.add(key)
        event = _existing(session, tenant_id, data)
        if event is None:
            created = _new_event(session, tenant_id, _as_create(data), origin, clock, principal)
            if data.id is not None:
                created.id = data.id
            return BulkItemResult(index=index, key=key, outcome=BulkOutcome.created, id=created.id)
        check_machine_scope(principal, event.machine_id)
        values = data.model_dump(exclude_unset=True, exclude={"id", "machine_id", "machine_code"})
        changed = _update(session, tenant_id, event, values, origin, clock)
        outcome = BulkOutcome.updated if changed else BulkOutcome.unchanged
        return BulkItemResult(index=index, key=key, outcome=outcome, id=event.id)

    return run_bulk(session, items, handle, key_field="external_ref")


def _as_create(data: DowntimeUpsert) -> DowntimeCreate:
    return DowntimeCreate.model_validate(data.model_dump(exclude={"id"}))


def _existing(session: Session, tenant_id: uuid.UUID, data: DowntimeUpsert) -> DowntimeEvent | None:
    if data.id is not None:
        event = session.get(DowntimeEvent, data.id)
        if event is not None and event.tenant_id != tenant_id:
            raise ValidationError.single("id", f"no downtime event {data.id}")
        return event
    if data.external_ref:
        return _find_by_ref(session, tenant_id, data.external_ref)
    return None
