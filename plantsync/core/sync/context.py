"""What one sync run carries from step to step: the connection, the effective mapping, the
connector, counts, per-record failures and progress reporting (lease renewal).

A ``RunContext`` with ``dry=True`` belongs to a dry run: it collects what would happen and
never writes (no heartbeat, no record errors, no links, no cursor).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plantsync.connectors.base import Connector
from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.db import Database
from plantsync.core.models.integration import Connection, SyncTrigger
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType
from plantsync.mappings.schema import EntityMapping, ProviderMapping

#: Record errors are flushed to the log at every checkpoint (the log keeps at most
#: ``MAX_RECORD_ERRORS_PER_RUN`` of them, and the true total).
MAX_NOTES = 20


class LeaseLostError(Exception):
    """The run is no longer ours (its lease expired and it was failed, or it was closed)."""


@dataclass
class Counts:
    read: int = 0
    written: int = 0
    failed: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0

    def frozen(self) -> runs.RunCounts:
        return runs.RunCounts(
            read=self.read, written=self.written, failed=self.failed, skipped=self.skipped
        )


@dataclass
class RunContext:
    """One run (or dry run) of one connection, entity and direction."""

    database: Database
    connection: Connection
    entity: EntityType
    direction: Direction
    provider_mapping: ProviderMapping
    connector: Connector
    log_id: uuid.UUID | None = None
    worker_id: str | None = None
    entity_id: str | None = None
    trigger: SyncTrigger = SyncTrigger.manual
    clock: Clock = SYSTEM_CLOCK
    lease_seconds: float = runs.DEFAULT_LEASE_SECONDS  # the hub's sync_lease_seconds
    dry: bool = False
    secrets: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    notes: list[str] = field(default_factory=list)
    pending_errors: list[runs.RecordFailure] = field(default_factory=list)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.connection.tenant_id

    @property
    def connection_id(self) -> uuid.UUID:
        return self.connection.id

    @property
    def mapping(self) -> EntityMapping:
        from plantsync.mappings.engine import entity_mapping

        return entity_mapping(self.provider_mapping, self.entity, self.direction)

    def now(self) -> datetime:
        return self.clock.now()

    def scrub(self, text: str) -> str:
        """``text`` with every secret of the connection masked."""
        from plantsync.core.services.connections import scrub_text

        return scrub_text(text, self.secrets)

    def fail_record(
        self,
        code: str,
        message: str,
        *,
        local_id: uuid.UUID | str | None = None,
        erp_key: str | None = None,
    ) -> None:
        """Counts one failed record and keeps its error for the log."""
        self.counts.failed += 1
        self.pending_errors.append(
            runs.RecordFailure(
                code=code,
                message=self.scrub(message),
                local_id=str(local_id) if local_id is not None else None,
                erp_key=erp_key,
            )
        )

    def note(self, text: str) -> None:
        """A remark for the run's final message (the first ``MAX_NOTES`` are kept)."""
        if len(self.notes) < MAX_NOTES and text not in self.notes:
            self.notes.append(self.scrub(text))

    def checkpoint(self, progress: dict[str, Any]) -> None:
        """Stores record errors, counts and progress, and renews the lease.

        Raises:
            LeaseLostError: the run is no longer this worker's: stop at once.
        """
        if self.dry or self.log_id is None:
            return
        with self.database.write_session() as session:
            if self.pending_errors:
                runs.add_record_errors(
                    self.log_id, self.pending_errors, session=session, clock=self.clock
                )
                self.pending_errors = []
            alive = runs.heartbeat(
                self.log_id,
                session=session,
                worker_id=self.worker_id or "",
                lease_seconds=self.lease_seconds,
                clock=self.clock,
                progress=progress,
                counts=self.counts.frozen(),
            )
        if not alive:
            raise LeaseLostError(f"sync run {self.log_id} is no longer held by {self.worker_id}")


__all__ = ["Counts", "LeaseLostError", "RunContext"]
