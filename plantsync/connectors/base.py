"""The connector interface. A connector knows one ERP's wire protocol and nothing else.

It never touches the database: the sync engine hands it ERP-shaped records (already mapped)
and takes back one result per record. Everything a connector needs arrives in a
``ConnectorConfig`` (decrypted credentials, TLS trust, the resources of the connection's
mapping) and, optionally, an ``httpx.Client`` (tests pass one with a ``transport=``).

Subclasses fill in a few hooks and declare what they support::

    class SapConnector(Connector):
        provider = "sap"
        display_name = "SAP"
        auth_model = SapAuthConfig
        supports = frozenset({EntitySupport(EntityType.machine, Direction.inbound), ...})

        @override
        def test(self) -> ConnectionTestResult: ...
        @override
        def pull(self, entity, *, since=None) -> Iterator[Page]: ...
        @override
        def push(self, entity, records) -> list[PushResult]: ...
        @override
        def find(self, entity, reference) -> ERPRecord | None: ...
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from plantsync.connectors.http import RetryPolicy, TLSConfig, build_client
from plantsync.entities import Direction, EntitySupport, EntityType
from plantsync.errors import RecordError


class Reconcile(StrEnum):
    """How a create whose answer was lost is reconciled (declared per entity in the mapping)."""

    our_key = "our_key"  # we choose the ERP key (e.g. a UUID5 GUID): a repeated create is an update
    reference = "reference"  # the ERP keeps our reference in a field; find() looks it up first
    none = "none"  # cannot be reconciled: documented; the engine never re-sends blindly


@dataclass(frozen=True)
class Resource:
    """Where one entity lives in the ERP, as the connection's mapping says.

    Attributes:
        path: provider-specific: SAP ``SERVICE/EntitySet`` (e.g. ``API_EQUIPMENT/Equipment``),
            Dataverse entity set (``msdyn_customerassets``), Oracle resource
            (``installedBaseAssets``).
        key: the ERP key fields, in order (composite keys are joined by ``key_string``).
        changed_field: the ERP field holding the last-change time, for incremental pulls.
        reconcile: how a lost create is reconciled.
        reference_field: the ERP field that keeps our reference (``Reconcile.reference``).
        create_only: records cannot be updated; a change is a cancellation plus a new record.
        options: provider-specific extras from the mapping (function imports, batch limits, ...).
    """

    path: str
    key: tuple[str, ...]
    changed_field: str | None = None
    reconcile: Reconcile = Reconcile.none
    reference_field: str | None = None
    create_only: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorConfig:
    """Everything a connector is built from (credentials decrypted, validated by ``auth_model``).

    ``tenant_id`` and ``connection_id`` give deterministic keys (UUID5) their namespace.
    """

    provider: str
    base_url: str
    auth: BaseModel
    resources: Mapping[EntityType, Mapping[Direction, Resource]]
    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    tls: TLSConfig = field(default_factory=TLSConfig)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = 1000
    timeout_s: float = 30.0

    def resource(self, entity: EntityType, direction: Direction) -> Resource:
        from plantsync.errors import ERPConfigurationError

        try:
            return self.resources[entity][direction]
        except KeyError:
            raise ERPConfigurationError(
                f"the mapping names no ERP resource for {direction.value} {entity.value}",
                provider=self.provider,
                entity=entity.value,
            ) from None


@dataclass(frozen=True)
class ConnectionTestResult:
    success: bool
    latency_ms: int
    message: str


@dataclass(frozen=True)
class ERPRecord:
    """One ERP record as pulled: typed values (aware datetimes, Decimal, ...) by ERP field name.

    ``deleted`` records carry only their key (Dataverse ``$deletedEntity``, a deactivation).
    """

    key: str
    fields: Mapping[str, Any]
    deleted: bool = False
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Where the last inbound pull stopped: a change-date watermark or a delta token."""

    watermark: datetime | None = None
    delta_token: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a pull. The last page carries ``cursor`` (the next pull's start).

    ``full`` is true when the connector fell back to a full pull (e.g. an expired delta token);
    ``note`` says why, for the run's log.
    """

    records: Sequence[ERPRecord]
    cursor: Cursor | None = None
    full: bool = False
    note: str | None = None


@dataclass(frozen=True)
class PushRecord:
    """One record to write, with ERP field names and typed values (the connector serialises).

    Attributes:
        local_id: our id of the record (the run's per-record results refer to it).
        fields: the ERP fields to send.
        erp_key: the ERP key from our link when the record was sent before: an update
            (or, for ``create_only`` resources, a cancellation of that key plus a create).
        reference: our reference for reconciliation (``Reconcile.our_key``/``reference``).
        maybe_sent: an earlier attempt may have reached the ERP without us learning the
            answer: reconcile (``find``) before creating.
    """

    local_id: str
    fields: Mapping[str, Any]
    erp_key: str | None = None
    reference: str | None = None
    maybe_sent: bool = False


@dataclass(frozen=True)
class PushResult:
    local_id: str
    erp_key: str | None = None
    created: bool = False
    error: RecordError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def key_string(values: Sequence[Any]) -> str:
    """A composite ERP key as one string (single keys are themselves)."""
    return "|".join(str(v) for v in values)


class Connector(abc.ABC):
    """Base class of every ERP connector. Subclasses declare their class attributes and fill
    in the four hooks; the base class owns the HTTP client's life cycle."""

    provider: ClassVar[str]
    display_name: ClassVar[str]
    auth_model: ClassVar[type[BaseModel]]
    supports: ClassVar[frozenset[EntitySupport]]

    def __init__(self, config: ConnectorConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self._owns_client = client is None
        self.client = client or self._make_client()

    def _make_client(self) -> httpx.Client:
        """The connection's client: timeouts, TLS trust, base URL (override to add auth)."""
        return self._build_client()

    def _build_client(self, *, auth: httpx.Auth | None = None) -> httpx.Client:
        """An ``httpx.Client`` built from the connection's base URL, TLS trust and timeout."""
        config = self.config
        return build_client(
            config.base_url,
            tls=config.tls,
            timeout_s=config.timeout_s,
            auth=auth,
            provider=config.provider,
            connection=str(config.connection_id),
        )

    @abc.abstractmethod
    def test(self) -> ConnectionTestResult:
        """Check connectivity, credentials and the services the mapping needs.

        Returns:
            success, latency_ms and a message a human can act on. Never raises for ERP
            problems: they are the diagnosis.
        """

    @abc.abstractmethod
    def pull(self, entity: EntityType, *, since: Cursor | None = None) -> Iterator[Page]:
        """Stream the entity's records changed since ``since`` (all when None), page by page.

        Yields:
            Pages in order; the last one carries the cursor for the next pull.
        Raises:
            RetriableError, FatalError: when the pull cannot go on after retries.
        """

    @abc.abstractmethod
    def push(self, entity: EntityType, records: Sequence[PushRecord]) -> list[PushResult]:
        """Write records with the ERP's bulk mechanism; one result per record, in order.

        A bad record is that record's ``error`` (a ``RecordError``); the others still land.

        Raises:
            RetriableError, FatalError: when nothing can be written (auth, ERP down).
        """

    @abc.abstractmethod
    def find(self, entity: EntityType, reference: str) -> ERPRecord | None:
        """The ERP record carrying our ``reference``, or None (for reconciliation)."""

    def supported(self, entity: EntityType, direction: Direction) -> bool:
        return EntitySupport(entity, direction) in self.supports

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
