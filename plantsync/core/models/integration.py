"""Integration tables: ERP connections, sync runs (logs) with per-record errors, links between
plant records and ERP records, and incremental-pull cursors (the API schemas of a connection
are in ``connections.py``).

Design notes (what the sync engine and the scheduler rely on):

- ``SyncLog`` is one run. At most one ``pending``/``in_progress`` run exists per
  (connection, entity_type, direction): a partial unique index enforces it in the database, so
  the rule holds across API nodes, workers and the CLI. Direction is part of the key: an inbound
  and an outbound ``work_order`` run touch different sides and may run side by side, and a
  caller asking for one direction must never be handed a run of the other. A request for a
  single record (``entity_id``) while a run of the same pair is active gets that run back.
- A claimed run carries a lease (``worker_id``, ``lease_expires_at``, ``heartbeat_at``) that its
  executor renews; a run whose lease expired is failed by ``runs.expire_stale_leases``.
- Logs are listed newest first by ``(created_at, id)``; the indexes below start with the tenant
  and the filter column so keyset pages stay index scans at millions of rows.
- ``SyncRecordError`` rows are capped per run (``MAX_RECORD_ERRORS_PER_RUN``);
  ``SyncLog.errors_total`` keeps the true count.
- ``ExternalLink`` ties (connection, entity_type, local id) to an ERP key with the hash and change
  sequence of what was last exchanged, and a ``state`` that says whether the last write is known
  to have landed (``LinkState``).
- ``SyncCursor`` keeps, per (connection, entity_type, direction), the watermark / delta token of
  inbound pulls and the change sequence reached by outbound pushes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from plantsync.core.models.base import id_field, tenant_field, utc_field
from plantsync.entities import Direction, EntityType

MAX_CONNECTIONS_PER_TENANT = 10
MAX_RECORD_ERRORS_PER_RUN = 500
MIN_INTERVAL_MINUTES = 5
MAX_INTERVAL_MINUTES = 1440


class SyncStatus(StrEnum):
    """Where a run is. A finished run is ``success`` (no record failed), ``partial`` (some
    records failed, others were written), ``failed`` (every record it tried failed, or the run
    itself stopped) or ``skipped`` (nothing to do: inactive connection, nothing changed)."""

    pending = "pending"
    in_progress = "in_progress"
    success = "success"
    partial = "partial"
    failed = "failed"
    skipped = "skipped"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES

    @classmethod
    def of_counts(cls, *, written: int, failed: int) -> SyncStatus:
        """The status of a run that went through, from its record counts (``success`` when it
        tried nothing)."""
        if failed == 0:
            return cls.success
        return cls.partial if written > 0 else cls.failed


ACTIVE_STATUSES = (SyncStatus.pending, SyncStatus.in_progress)
FINISHED_STATUSES = (SyncStatus.success, SyncStatus.partial, SyncStatus.failed, SyncStatus.skipped)
# Runs that show the connection works (the ERP answered, records were written).
WORKING_STATUSES = (SyncStatus.success, SyncStatus.partial)


class SyncTrigger(StrEnum):
    manual = "manual"
    schedule = "schedule"
    retry = "retry"
    event = "event"


class LinkState(StrEnum):
    """What we know about the ERP side of a link.

    - ``linked``: the ERP holds what ``sent_hash`` describes (after a confirmed push or a pull).
    - ``sending``: a push started and its answer is not recorded yet; found by a later run it
      means the answer is unknown — reconcile before creating again.
    - ``unknown``: sent but the answer was lost (``AmbiguousWriteError``): reconcile first.
    - ``failed``: the ERP refused the last push (``error`` says why); ``erp_key`` is kept if any.
    - ``deleted``: the ERP reported the record deleted or deactivated.
    """

    linked = "linked"
    sending = "sending"
    unknown = "unknown"
    failed = "failed"
    deleted = "deleted"


def _enum(enum: type[StrEnum]) -> sa.Enum:
    # Stored as VARCHAR holding the value on both databases (no native PostgreSQL enum types,
    # so adding a value never needs a type migration).
    return sa.Enum(
        enum,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


_ACTIVE_SQL = sa.text("status IN ('pending', 'in_progress')")


class Connection(SQLModel, table=True):
    """One ERP connection of a tenant. ``archived_at`` set = deleted (kept for its logs/links)."""

    __tablename__ = "connection"

    __table_args__ = (
        sa.Index(
            "uq_connection_tenant_name_live",
            "tenant_id",
            "name",
            unique=True,
            sqlite_where=sa.text("archived_at IS NULL"),
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    name: str = Field(max_length=100)
    provider: str = Field(max_length=50)
    base_url: str = Field(max_length=2000)
    auth_config_encrypted: str = Field(sa_type=sa.Text)
    auth_config_keys: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    tls_verify: bool = True
    tls_ca_bundle_pem: str | None = Field(default=None, sa_type=sa.Text)
    sync_interval_minutes: int
    is_active: bool = True
    field_mappings: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    sync_entities: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)
    outbound_start_from: datetime = utc_field()
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    archived_at: datetime | None = utc_field(nullable=True)


class SyncLog(SQLModel, table=True):
    """One sync run of one connection, entity type and direction."""

    __tablename__ = "sync_log"

    __table_args__ = (
        sa.Index(
            "uq_synclog_active_run",
            "connection_id",
            "entity_type",
            "direction",
            unique=True,
            sqlite_where=_ACTIVE_SQL,
            postgresql_where=_ACTIVE_SQL,
        ),
        sa.Index("ix_synclog_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index(
            "ix_synclog_tenant_conn_created", "tenant_id", "connection_id", "created_at", "id"
        ),
        sa.Index("ix_synclog_tenant_status_created", "tenant_id", "status", "created_at", "id"),
        sa.Index(
            "ix_synclog_pair_created", "connection_id", "entity_type", "direction", "created_at"
        ),
        sa.Index("ix_synclog_status_created", "status", "created_at"),
        sa.Index("ix_synclog_status_lease", "status", "lease_expires_at"),
        sa.Index("ix_synclog_created", "created_at"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = Field(foreign_key="tenant.id", nullable=False)
    connection_id: uuid.UUID = Field(foreign_key="connection.id", nullable=False)
    direction: Direction = Field(sa_type=_enum(Direction))
    entity_type: EntityType = Field(sa_type=_enum(EntityType))
    entity_id: str | None = Field(default=None, max_length=200)
    trigger: SyncTrigger = Field(sa_type=_enum(SyncTrigger))
    status: SyncStatus = Field(default=SyncStatus.pending, sa_type=_enum(SyncStatus))
    message: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = utc_field()
    started_at: datetime | None = utc_field(nullable=True)
    finished_at: datetime | None = utc_field(nullable=True)
    duration_ms: int | None = Field(default=None, sa_type=sa.BigInteger)
    records_read: int = 0
    records_written: int = 0
    records_failed: int = 0
    records_skipped: int = 0
    errors_total: int = 0
    progress: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    worker_id: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = utc_field(nullable=True)
    heartbeat_at: datetime | None = utc_field(nullable=True)
    attempt: int = 1
    retry_of_id: uuid.UUID | None = Field(default=None, foreign_key="sync_log.id")
    requested_by: str | None = Field(default=None, max_length=200)


class SyncRecordError(SQLModel, table=True):
    """One failed record of a run (at most ``MAX_RECORD_ERRORS_PER_RUN`` rows per run)."""

    __tablename__ = "sync_record_error"

    __table_args__ = (sa.Index("ix_syncrecorderror_log_seq", "log_id", "seq"),)

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = Field(foreign_key="tenant.id", nullable=False)
    log_id: uuid.UUID = Field(foreign_key="sync_log.id", nullable=False, ondelete="CASCADE")
    seq: int
    local_id: str | None = Field(default=None, max_length=200)
    erp_key: str | None = Field(default=None, max_length=200)
    code: str = Field(max_length=100)
    message: str = Field(sa_type=sa.Text)
    created_at: datetime = utc_field()


class ExternalLink(SQLModel, table=True):
    """(connection, entity_type, local id) <-> ERP key, with what was last exchanged."""

    __tablename__ = "external_link"

    __table_args__ = (
        sa.UniqueConstraint("connection_id", "entity_type", "local_id", name="uq_link_local"),
        sa.UniqueConstraint("connection_id", "entity_type", "erp_key", name="uq_link_erp_key"),
        sa.Index("ix_link_conn_state", "connection_id", "entity_type", "state"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    connection_id: uuid.UUID = Field(foreign_key="connection.id", nullable=False)
    entity_type: EntityType = Field(sa_type=_enum(EntityType))
    local_id: uuid.UUID
    erp_key: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    state: LinkState = Field(default=LinkState.linked, sa_type=_enum(LinkState))
    sent_hash: str | None = Field(default=None, max_length=128)
    sent_change_seq: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_direction: Direction | None = Field(default=None, sa_type=_enum(Direction))
    last_log_id: uuid.UUID | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    last_synced_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class SyncCursor(SQLModel, table=True):
    """Where the last run of (connection, entity_type, direction) stopped."""

    __tablename__ = "sync_cursor"

    __table_args__ = (
        sa.UniqueConstraint("connection_id", "entity_type", "direction", name="uq_cursor_pair"),
    )

    id: uuid.UUID = id_field()
    tenant_id: uuid.UUID = tenant_field()
    connection_id: uuid.UUID = Field(foreign_key="connection.id", nullable=False)
    entity_type: EntityType = Field(sa_type=_enum(EntityType))
    direction: Direction = Field(sa_type=_enum(Direction))
    watermark: datetime | None = utc_field(nullable=True)
    delta_token: str | None = Field(default=None, sa_type=sa.Text)
    change_seq: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_full_sync_at: datetime | None = utc_field(nullable=True)
    last_log_id: uuid.UUID | None = None
    updated_at: datetime = utc_field()


def _register_secrets() -> None:
    # ``plantsync keys rotate`` re-encrypts every registered column.
    from plantsync.core.security import register_encrypted_column

    register_encrypted_column(Connection, "auth_config_encrypted")


_register_secrets()
