"""Change-tracking columns shared by every synced table (machines, work orders, downtime, runs).

A tracked table inherits ``ChangeTracked`` and declares ``change_index("<table>")`` in its
``__table_args__``. The columns are written only by
``plantsync.core.services.changes.stamp_change``; that module's docstring explains the scheme.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Sequence
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import utc_field

#: The one PostgreSQL sequence every tracked change draws from. Registered on the metadata so
#: ``create_all`` (and the generated migration) creates it with the tables; SQLite ignores it.
CHANGE_SEQUENCE = Sequence("plantsync_change_seq", metadata=SQLModel.metadata, start=1)


class OriginKind(StrEnum):
    """Where a change came from."""

    user = "user"  # a person, through the API or the CLI
    device = "device"  # a plant system: API key (andon panel, PLC gateway) or service account
    sync = "sync"  # an inbound sync of one connection
    system = "system"  # PlantSync itself (CLI on the database, scheduler, demo data)


class ChangeTracked(SQLModel):
    """The change columns. ``change_xid`` is the writing transaction's id on PostgreSQL, 0 on
    SQLite; ``(change_xid, change_seq)`` is the change order a sync reads in."""

    updated_at: datetime = utc_field()
    change_seq: int = Field(sa_type=BigInteger, nullable=False, default=0)
    change_xid: int = Field(sa_type=BigInteger, nullable=False, default=0)
    origin_kind: OriginKind = Field(default=OriginKind.system, max_length=16)
    origin_id: uuid.UUID | None = Field(default=None)
    origin_connection_id: uuid.UUID | None = Field(default=None)


def change_index(table: str) -> Index:
    """The index a sync's "what changed since" query walks: one per tracked table."""
    return Index(f"ix_{table}_change", "tenant_id", "change_xid", "change_seq")


class ChangeCounter(SQLModel, table=True):
    """SQLite only: the change-sequence allocator. SQLite serialises writers, so a counter row
    updated inside the writing transaction hands out numbers in commit order. PostgreSQL uses
    ``CHANGE_SEQUENCE`` instead and never touches this table."""

    __tablename__ = "change_counter"

    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(sa_type=BigInteger, nullable=False, default=0)


__all__ = ["CHANGE_SEQUENCE", "ChangeCounter", "ChangeTracked", "OriginKind", "change_index"]
