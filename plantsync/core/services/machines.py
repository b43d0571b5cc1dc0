"""Machines (assets): CRUD and bulk upsert by ``code`` (status: ``services.machine_status``).

Every write stamps the machine's change columns (``services.changes``) with the caller's
origin; an upsert that changes nothing does not stamp, so re-sending the same master data
creates no outbound change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.db import new_id
from plantsync.core.models.downtime import AndonCall, DowntimeEvent
from plantsync.core.models.maintenance import WorkOrder
from plantsync.core.models.plant import (
    Machine,
    MachineCreate,
    MachinePublic,
    MachineStatus,
    MachineStatusChange,
    MachineUpdate,
    Site,
)
from plantsync.core.paging import Page
from plantsync.core.services.changes import (
    ChangeOrigin,
    insert_stamped,
    stamp_change,
    stamp_changes,
)
from plantsync.core.services.machine_status import apply_machine_status
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
    where_search,
)
from plantsync.core.services.sites import resolve_site_ref
from plantsync.errors import ConflictError, ValidationError


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
    machine = _build_machine(session, tenant_id, data, site_id, origin, clock)
    stamp_change(session, machine, origin, clock=clock)
    return machine


def _build_machine(
    session: Session,
    tenant_id: uuid.UUID,
    data: MachineCreate,
    site_id: uuid.UUID | None,
    origin: ChangeOrigin,
    clock: Clock,
) -> Machine:
    """A new machine and the first interval of its status history, added to the session; the
    caller stamps the change (``stamp_change``/``stamp_changes``)."""
    machine_values, status_values = _new_machine_rows(tenant_id, data, site_id, origin, clock)
    machine = Machine(**machine_values)
    session.add(machine)
    session.add(MachineStatusChange(**status_values))
    return machine


def _new_machine_rows(
    tenant_id: uuid.UUID,
    data: MachineCreate,
    site_id: uuid.UUID | None,
    origin: ChangeOrigin,
    clock: Clock,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The column values of a new machine and of the first interval of its status history
    (without the change stamp): the one rule for both the single and the bulk create."""
    now = clock.now()
    machine_id = new_id()
    values = data.model_dump(exclude={"site_id", "site_code"})
    machine = {
        **values, "id": machine_id, "tenant_id": tenant_id, "site_id": site_id,
        "status_since": now, "created_at": now,
    }  # fmt: skip
    status = {
        "id": new_id(), "tenant_id": tenant_id, "machine_id": machine_id,
        "status": values["status"], "started_at": now, "ended_at": None, "reason": None,
        "origin_kind": origin.kind,
    }  # fmt: skip
    return machine, status


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
    the fields the item sets; ``status`` is applied through the status history; an item that
    changes nothing is ``unchanged`` and not stamped. Items that fail are reported and skipped;
    the rest are committed (see ``run_bulk``). The inbound sync calls this with
    ``ChangeOrigin.inbound_sync(connection_id)``.

    The chunk is the unit of work: its existing machines and sites are loaded with one query
    each, and the change sequence of its written machines is stamped at once.
    """
    bulk = _MachineChunk(session, tenant_id, origin, clock)
    return run_bulk(
        session, items, bulk.handle, key_field="code", prepare=bulk.prepare, finish=bulk.finish
    )


def _item_field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


class _MachineChunk:
    """State of one ``upsert_machines`` call: what the current chunk found and must stamp."""

    def __init__(
        self, session: Session, tenant_id: uuid.UUID, origin: ChangeOrigin, clock: Clock
    ) -> None:
        self.session, self.tenant_id, self.origin, self.clock = session, tenant_id, origin, clock
        self.first_index: dict[str, int] = {}  # code -> the item that claimed it first
        self.machines: dict[str, Machine] = {}
        self.sites: dict[str, Site] = {}
        self.pending: list[Machine] = []  # updated rows to stamp
        self.new_rows: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (machine, status)

    def prepare(self, chunk: Sequence[Any]) -> None:
        self.pending, self.new_rows = [], []
        codes = {c for c in (_item_field(r, "code") for r in chunk) if isinstance(c, str)}
        site_codes = {
            c for c in (_item_field(r, "site_code") for r in chunk) if isinstance(c, str) and c
        }
        m: Any = Machine
        self.machines = {
            row.code: row
            for row in self.session.execute(
                select(Machine).where(m.tenant_id == self.tenant_id, m.code.in_(sorted(codes)))
            ).scalars()
        }
        site: Any = Site
        self.sites = {
            row.code: row
            for row in self.session.execute(
                select(Site).where(site.tenant_id == self.tenant_id, site.code.in_(sorted(site_codes)))
            ).scalars()
        } if site_codes else {}  # fmt: skip

    def finish(self) -> None:
        """Inserts the chunk's new machines and their first status intervals as plain rows
        (one statement each, no ORM objects), then stamps the updated ones."""
        if self.new_rows:
            insert_stamped(
                self.session, Machine, [m for m, _ in self.new_rows], self.origin, clock=self.clock
            )
            status_table: Any = MachineStatusChange.__table__  # type: ignore[attr-defined]
            self.session.execute(status_table.insert(), [s for _, s in self.new_rows])
        stamp_changes(self.session, self.pending, self.origin, clock=self.clock)
        self.pending, self.new_rows = [], []

    def handle(self, index: int, raw: Any) -> BulkItemResult:
        data: MachineCreate = validate_item(MachineCreate, raw)
        if self.first_index.setdefault(data.code, index) != index:
            raise ValidationError.single("code", f"{data.code!r} appears twice in this request")
        # The chunk's rows are loaded; a query here must not flush half-built rows.
        with self.session.no_autoflush:
            existing = self.machines.get(data.code)
            if existing is None:
                site_id = self._site_id(data.site_id, data.site_code)
                rows = _new_machine_rows(self.tenant_id, data, site_id, self.origin, self.clock)
                self.new_rows.append(rows)
                return BulkItemResult(
                    index=index, key=data.code, outcome=BulkOutcome.created, id=rows[0]["id"]
                )
            changed = self._update(existing, data)
        outcome = BulkOutcome.updated if changed else BulkOutcome.unchanged
        return BulkItemResult(index=index, key=data.code, outcome=outcome, id=existing.id)

    def _site_id(self, site_id: uuid.UUID | None, site_code: str | None) -> uuid.UUID | None:
        if site_id is None and site_code:
            found = self.sites.get(site_code)
            if found is None:
                raise ValidationError.single("site_code", f"no site with code {site_code!r}")
            return found.id
        return resolve_site_ref(
            session=self.session, tenant_id=self.tenant_id, site_id=site_id, site_code=site_code
        )

    def _update(self, machine: Machine, data: MachineCreate) -> bool:
        raw = data.model_dump(exclude_unset=True, exclude={"code"})
        status = raw.pop("status", None)
        if "site_id" in raw or "site_code" in raw:
            raw["site_id"] = self._site_id(raw.get("site_id"), raw.pop("site_code", None))
        values = _update_values(self.session, self.tenant_id, machine, raw)
        diff = changed_fields(machine, values)
        status_changed = status is not None and status != machine.status
        if diff:
            apply_values(machine, diff)
        if status_changed:
            # Stamps the machine itself (with the status history).
            apply_machine_status(
                session=self.session, machine=machine, status=status, at=self.clock.now(),
                origin=self.origin, clock=self.clock,
            )  # fmt: skip
        elif diff:
            self.pending.append(machine)
        return bool(diff) or status_changed


__all__ = [
    "create_machine",
    "delete_machine",
    "find_machine_by_code",
    "get_machine",
    "list_machines",
    "resolve_machine_ref",
    "to_public",
    "update_machine",
    "upsert_machines",
]
