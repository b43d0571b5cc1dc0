"""The failure-mode and root-cause libraries: coded entries downtime events refer to by code.

Both libraries have the same shape, so every function takes the library's table model
(``FailureMode`` or ``RootCause``).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.downtime import DowntimeEvent
from plantsync.core.models.maintenance import (
    FailureMode,
    LibraryEntryCreate,
    LibraryEntryPublic,
    LibraryEntryUpdate,
    RootCause,
)
from plantsync.core.paging import Page
from plantsync.core.services.plant_common import (
    apply_values,
    commit_or_conflict,
    get_owned,
    keyset_page,
    where_equal,
    where_search,
)
from plantsync.errors import ConflictError, ValidationError

L = TypeVar("L", FailureMode, RootCause)

_NAMES: dict[type[Any], str] = {FailureMode: "failure mode", RootCause: "root cause"}
_DOWNTIME_FIELD: dict[type[Any], str] = {FailureMode: "failure_mode", RootCause: "root_cause"}


def to_public(entry: FailureMode | RootCause) -> LibraryEntryPublic:
    return LibraryEntryPublic.model_validate(entry, from_attributes=True)


def get_entry(*, session: Session, model: type[L], tenant_id: uuid.UUID, entry_id: uuid.UUID) -> L:
    return get_owned(session, model, tenant_id, entry_id, _NAMES[model])


def find_entry(*, session: Session, model: type[L], tenant_id: uuid.UUID, code: str) -> L | None:
    t: Any = model
    return session.execute(
        select(model).where(t.tenant_id == tenant_id, t.code == code)
    ).scalar_one_or_none()


def check_code(
    *, session: Session, model: type[L], tenant_id: uuid.UUID, code: str | None
) -> str | None:
    """``code`` when it names an entry of the library (or is None); ``ValidationError`` naming
    the downtime field (``failure_mode`` / ``root_cause``) otherwise."""
    if code is None:
        return None
    if find_entry(session=session, model=model, tenant_id=tenant_id, code=code) is None:
        raise ValidationError.single(
            _DOWNTIME_FIELD[model], f"no {_NAMES[model]} with code {code!r}"
        )
    return code


def create_entry(
    *,
    session: Session,
    model: type[L],
    tenant_id: uuid.UUID,
    data: LibraryEntryCreate,
    clock: Clock = SYSTEM_CLOCK,
) -> L:
    if find_entry(session=session, model=model, tenant_id=tenant_id, code=data.code):
        raise ConflictError(f"A {_NAMES[model]} with code {data.code!r} already exists")
    entry = model(**data.model_dump(), tenant_id=tenant_id, created_at=clock.now())
    session.add(entry)
    commit_or_conflict(session, f"A {_NAMES[model]} with code {data.code!r} already exists")
    return entry


def list_entries(
    *,
    session: Session,
    model: type[L],
    tenant_id: uuid.UUID,
    machine_type: str | None = None,
    is_active: bool | None = None,
    q: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LibraryEntryPublic]:
    """Entries by code; ``machine_type`` also matches entries that apply to every type."""
    t: Any = model
    stmt = select(model).where(t.tenant_id == tenant_id)
    if machine_type is not None:
        stmt = stmt.where(or_(t.machine_type == machine_type, t.machine_type.is_(None)))
    stmt = where_equal(stmt, (t.is_active, is_active))
    stmt = where_search(stmt, q, t.code, t.name)
    rows, nxt = keyset_page(session, stmt, order=[t.code, t.id], limit=limit, cursor=cursor)
    return Page[LibraryEntryPublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_entry(
    *,
    session: Session,
    model: type[L],
    tenant_id: uuid.UUID,
    entry_id: uuid.UUID,
    data: LibraryEntryUpdate,
) -> L:
    entry = get_entry(session=session, model=model, tenant_id=tenant_id, entry_id=entry_id)
    values = data.model_dump(exclude_unset=True)
    for field in ("name", "is_active"):
        if field in values and values[field] is None:
            raise ValidationError.single(field, "may not be null")
    apply_values(entry, values)
    session.commit()
    return entry


def delete_entry(
    *, session: Session, model: type[L], tenant_id: uuid.UUID, entry_id: uuid.UUID
) -> None:
    """Deletes an entry no downtime event uses; 409 otherwise (deactivate it instead)."""
    entry = get_entry(session=session, model=model, tenant_id=tenant_id, entry_id=entry_id)
    column: Any = getattr(DowntimeEvent, _DOWNTIME_FIELD[model])
    d: Any = DowntimeEvent
    used = session.execute(
        select(d.id).where(d.tenant_id == tenant_id, column == entry.code).limit(1)
    ).first()
    if used:
        raise ConflictError(
            f"{_NAMES[model].capitalize()} {entry.code} is used by downtime events; "
            "set is_active=false instead"
        )
    session.delete(entry)
    session.commit()
