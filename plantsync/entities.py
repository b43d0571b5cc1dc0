"""The shared vocabulary of every layer: what PlantSync syncs and in which direction.

The data model, the mappings, the connectors and the sync engine all speak of an
``EntityType`` moved in a ``Direction``; ``ENTITY_MATRIX`` is DESIGN.md's entity matrix.
This module imports nothing of PlantSync's, so any layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class EntityType(StrEnum):
    work_order = "work_order"
    production_data = "production_data"
    downtime = "downtime"
    machine = "machine"


@dataclass(frozen=True, order=True)
class EntitySupport:
    entity: EntityType
    direction: Direction

    def __str__(self) -> str:
        return f"{self.direction.value}:{self.entity.value}"


ENTITY_MATRIX: frozenset[EntitySupport] = frozenset(
    {
        EntitySupport(EntityType.work_order, Direction.outbound),
        EntitySupport(EntityType.production_data, Direction.outbound),
        EntitySupport(EntityType.downtime, Direction.outbound),
        EntitySupport(EntityType.machine, Direction.inbound),
        EntitySupport(EntityType.work_order, Direction.inbound),
    }
)
"""Everything PlantSync can sync (DESIGN.md's entity matrix); a connector supports a subset."""
