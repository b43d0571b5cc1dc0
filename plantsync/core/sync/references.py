"""What an outbound record must carry before it is sent: the mapping's ``required`` fields.

One rule for every provider, driven by the mapping (``EntityMapping.required`` and
``pulled_references``, see ``mappings/schema.py``):

- a required reference (``machine_id``, ``work_order_id``) must resolve to an ERP key linked
  through this connection — a record the ERP cannot tie to its asset or order is refused by
  the ERP anyway (or, worse, lands detached), so it fails here, before sending, with a message
  naming the local record and what to do (pull the machines or orders inbound first);
- a reference listed in ``pulled_references`` resolves only through a link written by an
  inbound pull (SAP confirmations name production orders; a work order PlantSync pushed is a
  maintenance order, which a confirmation cannot name);
- any other required field must have a value.

``check(ctx, row, record, refs)`` applies this to one canonical record (changing it in place
when a reference does not count) and raises ``UnresolvedReferenceError``.
"""

from __future__ import annotations

import uuid
from typing import Any

from plantsync.core.sync.context import RunContext
from plantsync.core.sync.records import Refs
from plantsync.entities import Direction, EntityType
from plantsync.mappings.engine import RecordMappingError

_TARGETS = {"machine_id": EntityType.machine, "work_order_id": EntityType.work_order}


class UnresolvedReferenceError(RecordMappingError):
    """A record lacks what its mapping requires; it was not sent."""

    code = "unresolved_reference"


def check(ctx: RunContext, row: Any, record: dict[str, Any], refs: Refs) -> None:
    """Drops references that do not count and fails the record if a required field is missing.

    Raises:
        UnresolvedReferenceError: naming the record, the field and what to do.
    """
    mapping = ctx.mapping
    for name in mapping.pulled_references:
        local = getattr(row, name, None)
        if local is not None and local not in refs.pulled:
            record.pop(name, None)
    for name in mapping.required:
        if record.get(name) not in (None, ""):
            continue
        if name in _TARGETS:
            raise UnresolvedReferenceError(_unresolved(ctx, row, name, refs))
        raise UnresolvedReferenceError(
            f"{_describe(ctx.entity, row, refs)}: {name} is empty, and the "
            f"{ctx.connection.provider} mapping requires it ({mapping.fields[name]})"
        )


def _unresolved(ctx: RunContext, row: Any, name: str, refs: Refs) -> str:
    target = _TARGETS[name]
    local: uuid.UUID | None = getattr(row, name, None)
    what = _describe(ctx.entity, row, refs)
    erp_field = ctx.mapping.fields[name]
    if local is None:
        return (
            f"{what} has no {target.value.replace('_', ' ')}, and the {ctx.connection.provider} "
            f"mapping requires one ({erp_field}): set it on the record, then sync it again"
        )
    source = ctx.provider_mapping.get(target, Direction.inbound)
    erp_object = f"{ctx.connection.provider} {source.resource}" if source else "ERP record"
    pulled_only = name in ctx.mapping.pulled_references
    linked = local in (refs.machine_keys if target is EntityType.machine else refs.work_order_keys)
    subject = _name(target, local, refs)
    conn = ctx.connection.name
    if pulled_only and linked:
        problem = (
            f"{subject} is linked to a record PlantSync sent to the ERP, not to a "
            f"{erp_object} pulled from it"
        )
    else:
        problem = f"{subject} has no {erp_object} linked through connection {conn!r}"
    natural = "code" if target is EntityType.machine else "number"
    fix = (
        f"pull {target.value.replace('_', ' ')}s inbound first (plantsync sync {conn} --direction inbound "
        f"--entity {target.value}; ERP records are matched to the plant's by {natural})"
        if source
        else f"sync the {target.value.replace('_', ' ')} outbound first"
    )
    return (
        f"{what} was not sent: {problem} ({erp_field} is required). To fix, {fix}, then send "
        f"it again (plantsync sync {conn} --direction outbound --entity {ctx.entity.value} "
        f"--entity-id {row.id})"
    )


def _name(target: EntityType, local: uuid.UUID, refs: Refs) -> str:
    if target is EntityType.machine:
        machine = refs.machines.get(local)
        return f"machine {machine.code}" if machine else f"machine {local}"
    return f"work order {refs.work_order_numbers.get(local, local)}"


def _describe(entity: EntityType, row: Any, refs: Refs) -> str:
    if entity is EntityType.work_order:
        return f"work order {row.number}"
    machine = refs.machines.get(row.machine_id)
    on = f" on {machine.code}" if machine else ""
    started = row.started_at.isoformat(timespec="minutes")
    kind = "downtime event" if entity is EntityType.downtime else "production run"
    return f"{kind}{on} started {started}"


__all__ = ["UnresolvedReferenceError", "check"]
