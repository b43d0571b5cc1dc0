"""Sync runs: the entity matrix, the run life cycle (``runs``) and the in-process executor.

- ``SYNC_MATRIX``: what PlantSync can sync at all (DESIGN.md); a provider supports a subset
  (its connector's ``supports``). ``supported_pairs(provider)`` is the intersection.
- A runner (``plantsync.core.sync.engine.run_sync(log_id)``) is called with the id of a log
  its executor already claimed. It reads the database from ``current_database()``: the
  executor binds the database it claimed from; outside an executor it is the process-wide one.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from plantsync.connectors.base import Connector
from plantsync.core.db import Database
from plantsync.entities import ENTITY_MATRIX, Direction, EntitySupport, EntityType
from plantsync.errors import BadRequestError, ValidationError

SYNC_MATRIX: frozenset[EntitySupport] = ENTITY_MATRIX  # defined with the connector interface


def known_providers() -> list[str]:
    """The provider names the connector registry knows (built-in and plug-ins)."""
    from plantsync.connectors.registry import available_providers

    return sorted(available_providers())


def connector_class(provider: str, *, field: str = "provider") -> type[Connector]:
    """The connector class of ``provider``.

    Raises:
        ValidationError: on ``field`` when no connector is registered under that name.
    """
    from plantsync.connectors.registry import get_connector_class

    known = known_providers()
    if provider not in known:
        raise ValidationError.single(
            field, f"unknown provider {provider!r}; known providers: {', '.join(known)}"
        )
    return get_connector_class(provider)


def supported_pairs(provider: str) -> list[EntitySupport]:
    """The (entity, direction) pairs ``provider`` syncs: its connector's ∩ ``SYNC_MATRIX``."""
    return sorted(SYNC_MATRIX & connector_class(provider).supports)


def check_pair(provider: str, entity: EntityType, direction: Direction) -> None:
    """Raises ``BadRequestError`` naming the allowed pairs when ``provider`` cannot sync it."""
    allowed = supported_pairs(provider)
    if EntitySupport(entity, direction) not in allowed:
        raise BadRequestError(
            f"{provider} connections cannot sync {direction.value} {entity.value}; "
            f"allowed: {', '.join(str(p) for p in allowed)}"
        )


_bound_database: contextvars.ContextVar[Database | None] = contextvars.ContextVar(
    "plantsync_sync_database", default=None
)


@contextmanager
def bind_database(database: Database) -> Iterator[None]:
    """Makes ``current_database()`` return ``database`` in this context (the executor's)."""
    token = _bound_database.set(database)
    try:
        yield
    finally:
        _bound_database.reset(token)


def current_database() -> Database:
    """The database a runner works on: the executor's, else the process-wide one."""
    bound = _bound_database.get()
    if bound is not None:
        return bound
    from plantsync.core.config import get_settings
    from plantsync.core.db import get_database

    return get_database(get_settings())


__all__ = [
    "SYNC_MATRIX",
    "bind_database",
    "check_pair",
    "connector_class",
    "current_database",
    "known_providers",
    "supported_pairs",
]
