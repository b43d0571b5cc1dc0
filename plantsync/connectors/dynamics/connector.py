"""``DynamicsConnector``: Dataverse Web API v9.2 tables as PlantSync entities.

Reads page by page (``Prefer: odata.maxpagesize``, ``@odata.nextLink`` to the end) and
incrementally through change tracking (``@odata.deltaLink``; ``$deletedEntity`` rows become
deleted records; an expired token means a full pull), falling back to ``modifiedon`` filters
for tables without change tracking. Writes go through ``$batch`` (see ``batch``); rows we
create get a deterministic GUID written with ``PATCH entityset(guid)`` (an upsert), so a
create whose answer was lost is an update when sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError as PydanticValidationError

from plantsync.connectors.base import (
    ConnectionTestResult,
    Connector,
    ConnectorConfig,
    Cursor,
    ERPRecord,
    Page,
    PushRecord,
    PushResult,
    Reconcile,
    Resource,
    key_string,
)
from plantsync.connectors.dynamics.auth import DataverseAuth, DynamicsAuthConfig
from plantsync.connectors.dynamics.client import (
    DataverseClient,
    DataverseRefusedError,
    is_change_tracking_off,
    is_expired_delta,
    prefer,
)
from plantsync.connectors.dynamics.codec import PROVIDER, filter_literal, key_segment, parse_row
from plantsync.connectors.dynamics.writer import DataverseWriter
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.pagination import ODataNextLinkPaginator
from plantsync.entities import ENTITY_MATRIX, Direction, EntityType
from plantsync.errors import (
    ConnectorError,
    ERPConfigurationError,
    ERPNotFoundError,
)

# test() diagnoses rather than waits: one retry, a few seconds at most.
TEST_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=1.0, max_total_s=5.0)
_ENTITY_ORDER = (
    EntityType.machine,
    EntityType.work_order,
    EntityType.downtime,
    EntityType.production_data,
)


class DynamicsConnector(Connector):
    """Microsoft Dynamics 365 (Dataverse Web API v9.2) with OAuth2 client credentials (msal).

    Resource options read from the mapping (``options:``):
        select: columns to ``$select`` on pulls (the key and ``changed_field`` are added).
        change_tracking: false for a table without change tracking (``modifiedon`` filters).
        lookups: ``{column: entity set}``: values are GUIDs sent as ``column@odata.bind``.
        alternate_key: a column holding our reference that is an alternate key of the table:
            writes and ``find`` address rows by it instead of a GUID.
        batch_size: requests per ``$batch`` (1..1000, default 100).
    """

    provider = "dynamics"
    display_name = "Dynamics 365"
    auth_model = DynamicsAuthConfig
    supports = ENTITY_MATRIX

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Args:
        config: the connection; ``config.auth`` must validate as ``DynamicsAuthConfig``.
        client: an ``httpx.Client`` to use (tests); the connector installs its OAuth2
            auth on it and sends token requests through it too.
        sleep: how retries wait (``Retry-After``, backoff); tests pass a recorder.
        """
        self.auth = DataverseAuth(_auth_config(config), base_url=config.base_url)
        super().__init__(config, client=client)
        if client is not None:
            client.auth = self.auth
        self.auth.bind(self.client)
        self.dataverse = DataverseClient(
            self.client, base_url=config.base_url, policy=config.retry, sleep=sleep
        )
        self.root = self.dataverse.root
        self._writes = DataverseWriter(self.dataverse, find=self.find, tenant_id=config.tenant_id)

    def _make_client(self) -> httpx.Client:
        return self._build_client(auth=self.auth)

    # -- test ---------------------------------------------------------------------------

    def test(self) -> ConnectionTestResult:
        started = time.monotonic()
        tables = self._tables()
        try:
            self.auth.token()
            self._who_am_i()
            missing = self._missing_tables(tables)
        except ConnectorError as exc:
            return ConnectionTestResult(False, _ms(started), exc.detail)
        if missing:
            return ConnectionTestResult(
                False,
                _ms(started),
                f"Connected to Dynamics 365, but the mapping needs table(s) this environment "
                f"does not have: {', '.join(missing)} (msdyn_ tables come with Field Service; "
                "custom tables must exist with these entity set names)",
            )
        return ConnectionTestResult(
            True, _ms(started), f"Successfully connected to Dynamics 365 ({', '.join(tables)})"
        )

    def _tables(self) -> list[str]:
        tables: list[str] = []
        for entity in _ENTITY_ORDER:
            for resource in self.config.resources.get(entity, {}).values():
                if resource.path not in tables:
                    tables.append(resource.path)
        return tables

    def _who_am_i(self) -> None:
        try:
            self.dataverse.get(self.root + "WhoAmI", policy=TEST_RETRY)
        except ERPNotFoundError as exc:
            raise ERPNotFoundError(
                f"no Dataverse Web API at {self.root} (tried {self.root}WhoAmI, 404): "
                "check base_url (the environment URL, e.g. https://org.crm.dynamics.com)",
                provider=PROVIDER,
                status=exc.status,
            ) from exc

    def _missing_tables(self, tables: Sequence[str]) -> list[str]:
        missing: list[str] = []
        for table in tables:
            try:
                self.dataverse.get(self.root + table, params={"$top": "1"}, policy=TEST_RETRY)
            except ERPNotFoundError:
                missing.append(table)
        return missing

    # -- pull ---------------------------------------------------------------------------

    def pull(self, entity: EntityType, *, since: Cursor | None = None) -> Iterator[Page]:
        resource = self._resource(entity, Direction.inbound)
        if since is not None and since.delta_token:
            return self._pull_delta(entity, resource, since.delta_token)
        if since is not None and since.watermark is not None:
            return self._pull_query(entity, resource, watermark=since.watermark, track=False)
        track = bool(resource.options.get("change_tracking", True))
        return self._pull_query(entity, resource, watermark=None, track=track)

    def _pull_query(
        self,
        entity: EntityType,
        resource: Resource,
        *,
        watermark: datetime | None,
        track: bool,
        full: bool = False,
        note: str | None = None,
    ) -> Iterator[Page]:
        params = self._query(resource, watermark)
        url = self.root + resource.path
        try:
            body = self._fetch(url, params, track=track, entity=entity)
        except DataverseRefusedError as exc:
            if not (track and is_change_tracking_off(exc.error)):
                raise
            track = False
            note = _join(note, f"change tracking is off for {resource.path} ({exc.error})")
            body = self._fetch(url, params, track=False, entity=entity)
        yield from self._pages(
            entity, resource, body, track=track, watermark=watermark, full=full, note=note
        )

    def _pull_delta(self, entity: EntityType, resource: Resource, link: str) -> Iterator[Page]:
        try:
            body = self._fetch(link, None, track=True, entity=entity)
        except DataverseRefusedError as exc:
            if not is_expired_delta(exc.error):
                raise
            yield from self._pull_query(
                entity,
                resource,
                watermark=None,
                track=True,
                full=True,
                note=f"the change-tracking token of {resource.path} expired or is invalid "
                f"({exc.error}): full pull",
            )
            return
        yield from self._pages(entity, resource, body, track=True, watermark=None)

    def _pages(
        self,
        entity: EntityType,
        resource: Resource,
        body: Mapping[str, Any],
        *,
        track: bool,
        watermark: datetime | None,
        full: bool = False,
        note: str | None = None,
    ) -> Iterator[Page]:
        paginator = ODataNextLinkPaginator()
        while True:
            records = [self._record(resource, row) for row in body.get("value", [])]
            for record in records:
                if record.changed_at and (watermark is None or record.changed_at > watermark):
                    watermark = record.changed_at
            following = paginator.next_page(body, page_len=len(records))
            if following is None or not following.url:
                delta = body.get("@odata.deltaLink") if track else None
                if track and not delta:
                    note = _join(
                        note,
                        f"{resource.path} gave no delta link: the next pull "
                        f"filters on {resource.changed_field or 'nothing'}",
                    )
                cursor = Cursor(watermark=watermark, delta_token=delta)
                yield Page(records, cursor=cursor, full=full, note=note)
                return
            yield Page(records, full=full, note=note)
            body = self._fetch(following.url, None, track=track, entity=entity)

    def _query(self, resource: Resource, watermark: datetime | None) -> dict[str, str]:
        params: dict[str, str] = {}
        select = list(resource.options.get("select") or [])
        if select:
            extra = [*resource.key, *([resource.changed_field] if resource.changed_field else [])]
            params["$select"] = ",".join(dict.fromkeys([*extra, *select]))
        if watermark is not None:
            if not resource.changed_field:
                raise ERPConfigurationError(
                    f"{resource.path} has no changed_field in the mapping: it cannot be "
                    "pulled incrementally",
                    provider=PROVIDER,
                )
            params["$filter"] = f"{resource.changed_field} ge {filter_literal(watermark)}"
        return params

    def _fetch(
        self, url: str, params: Mapping[str, str] | None, *, track: bool, entity: EntityType
    ) -> dict[str, Any]:
        header = prefer(max_page_size=self.config.page_size, track_changes=track, annotations=True)
        return self.dataverse.get_object(url, params=params, prefer_value=header, entity=entity)

    def _record(self, resource: Resource, row: Mapping[str, Any]) -> ERPRecord:
        if "$deletedEntity" in str(row.get("@odata.context", "")):
            key = row.get("id") or row.get(resource.key[0])
            return ERPRecord(key=str(key), fields={}, deleted=True)
        fields = parse_row(row)
        values = [fields.get(k) for k in resource.key]
        if any(v is None for v in values):
            raise ERPConfigurationError(
                f"rows of {resource.path} carry no key column {', '.join(resource.key)}: "
                "check the mapping's key",
                provider=PROVIDER,
            )
        changed = fields.get(resource.changed_field) if resource.changed_field else None
        return ERPRecord(
            key=key_string(values),
            fields=fields,
            changed_at=changed if isinstance(changed, datetime) else None,
        )

    # -- push and find ------------------------------------------------------------------

    def push(self, entity: EntityType, records: Sequence[PushRecord]) -> list[PushResult]:
        """Upsert/create ``records`` through ``$batch``; one result per record, in order.

        Raises:
            AmbiguousWriteError: a batch holding plain creates (reconcile ``reference`` or
                ``none``) lost its answer: its records must be reconciled before a resend.
            FatalError / RetriableError: nothing could be written.
        """
        resource = self._resource(entity, Direction.outbound)
        return self._writes.push(entity, resource, records)

    def find(self, entity: EntityType, reference: str) -> ERPRecord | None:
        """The row carrying our ``reference``: by alternate key, by our GUID (``our_key``:
        ``reference`` is what ``push`` derived the GUID from), or by ``reference_field``."""
        direction = Direction.outbound
        if direction not in self.config.resources.get(entity, {}):
            direction = Direction.inbound
        resource = self._resource(entity, direction)
        alternate = resource.options.get("alternate_key")
        if alternate:
            return self._get_row(resource, key_segment({str(alternate): reference}))
        if resource.reconcile is Reconcile.our_key:
            guid = self._writes.guid(entity, reference)
            return self._get_row(resource, key_segment(str(guid)))
        if resource.reconcile is Reconcile.reference and resource.reference_field:
            params = {
                "$filter": f"{resource.reference_field} eq {filter_literal(reference)}",
                "$top": "1",
            }
            body = self._fetch(self.root + resource.path, params, track=False, entity=entity)
            rows = body.get("value") or []
            return self._record(resource, rows[0]) if rows else None
        return None

    def _get_row(self, resource: Resource, segment: str) -> ERPRecord | None:
        try:
            row = self.dataverse.get_object(
                self.root + resource.path + segment, prefer_value=prefer(annotations=True)
            )
        except ERPNotFoundError:
            return None
        return self._record(resource, row)

    # -- plumbing -----------------------------------------------------------------------

    def _resource(self, entity: EntityType, direction: Direction) -> Resource:
        if not self.supported(entity, direction):
            raise ERPConfigurationError(
                f"Dynamics 365 does not support {direction.value} {entity.value} "
                f"(supported: {', '.join(sorted(str(s) for s in self.supports))})",
                provider=PROVIDER,
                entity=entity.value,
            )
        return self.config.resource(entity, direction)


def _auth_config(config: ConnectorConfig) -> DynamicsAuthConfig:
    if isinstance(config.auth, DynamicsAuthConfig):
        return config.auth
    try:
        return DynamicsAuthConfig.model_validate(dict(config.auth))
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ERPConfigurationError(
            f"auth_config is invalid for Dynamics 365 (fields: {fields})", provider=PROVIDER
        ) from None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _join(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more
