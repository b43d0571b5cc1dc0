"""The SAP connector (ECC and S/4HANA over OData V2): entities, paging, bulk writes, find, test.

Where things live comes from the mapping (``mappings/sap.yaml``, a connection's overrides):
``Resource.path`` is ``SERVICE/EntitySet``. Options this connector reads from the mapping:

- ``filter``: a ``$filter`` always applied to pulls (e.g. released production orders only).
- ``validity``: ``{start, end}`` date fields; only the row valid today is pulled (equipment
  has one row per validity period; the current one ends on or after today).
- ``datetime_pairs``: ``{DateField: TimeField}`` SAP keeps a timestamp as a date + a time.
- ``inactive_flags``: boolean fields that mark a record deactivated (``ERPRecord.deleted``).
- ``status_actions``: ``{field, initial, actions: {ERP status: {call, from}}}``, the order
  life cycle (``connectors/lifecycle.py``): a status is set by the chain of function imports
  from the record's current status (read, or from the create answer) to the target, in one
  changeset with the update; never by writing the field. A change backwards fails its record.
- ``cancel_action``: for ``create_only`` resources, the function import that cancels the
  previous record (a correction = cancellation + new record, in one changeset).
- ``find_filter``: extra ``$filter`` for ``find`` (e.g. skip reversed confirmations).
- ``batch_size``: changesets (records) per ``$batch``, a whole number >= 1 (default 100).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import ClassVar

import httpx
from pydantic import BaseModel

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
)
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.sap.auth import SapAuth, SapAuthConfig
from plantsync.connectors.sap.client import SapClient
from plantsync.connectors.sap.codec import read_row, reference_value
from plantsync.connectors.sap.metadata import EntitySet
from plantsync.connectors.sap.status import lifecycle_of
from plantsync.connectors.sap.values import filter_literal
from plantsync.connectors.sap.writer import SapWriter
from plantsync.entities import ENTITY_MATRIX, Direction, EntitySupport, EntityType
from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
)

log = logging.getLogger(__name__)
_TEST_POLICY = RetryPolicy(max_attempts=1)


class SapConnector(Connector):
    """SAP Gateway OData V2: machines and production orders in; work orders, downtime
    (maintenance notifications) and production data (order confirmations) out."""

    provider: ClassVar[str] = "sap"
    display_name: ClassVar[str] = "SAP"
    auth_model: ClassVar[type[BaseModel]] = SapAuthConfig
    supports: ClassVar[frozenset[EntitySupport]] = ENTITY_MATRIX

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        auth = config.auth
        if not isinstance(auth, SapAuthConfig):
            auth = SapAuthConfig.model_validate(auth.model_dump())
        self.auth = SapAuth(auth)
        super().__init__(config, client=client)
        if client is not None:
            client.auth = self.auth
        self._now = now
        self._current_service = ""
        self.sap = SapClient(
            self.client,
            base_url=config.base_url,
            policy=config.retry,
            page_size=config.page_size,
            sleep=sleep,
        )

    def _make_client(self) -> httpx.Client:
        return self._build_client(auth=self.auth)

    # --- resources -------------------------------------------------------------------------

    def _resource(self, entity: EntityType, direction: Direction) -> Resource:
        if not self.supported(entity, direction):
            raise ERPConfigurationError(
                f"SAP does not support {direction.value} {entity.value}",
                provider="sap",
                entity=entity.value,
            )
        return self.config.resource(entity, direction)

    def _entity_set(self, resource: Resource, entity: EntityType) -> tuple[str, EntitySet]:
        service, name = split_path(resource.path)
        model = self.sap.metadata(service)
        es = model.entity_set(name)
        if es is None:
            known = ", ".join(sorted(model.entity_sets)) or "none"
            raise ERPConfigurationError(
                f"service {service} has no entity set {name} (it has: {known})",
                provider="sap",
                entity=entity.value,
            )
        return service, es

    # --- test ------------------------------------------------------------------------------

    def test(self) -> ConnectionTestResult:
        started = time.monotonic()
        services: list[str] = []
        try:
            for entity, by_direction in self.config.resources.items():
                for direction, resource in by_direction.items():
                    if not self.supported(entity, direction):
                        continue
                    service = split_path(resource.path)[0]
                    self._check_service(service, resource, entity)
                    if service not in services:
                        services.append(service)
        except ConnectorError as exc:
            return self._result(started, False, self._diagnose(exc, services))
        if not services:
            return self._result(started, False, "the mapping names no SAP service to check")
        return self._result(started, True, f"Successfully connected to SAP ({', '.join(services)})")

    def _check_service(self, service: str, resource: Resource, entity: EntityType) -> None:
        self._current_service = service
        if not self.sap.has_metadata(service):
            response = self.sap.get(
                self.sap.service_url(service) + "$metadata",
                headers={"Accept": "application/xml"},
                policy=_TEST_POLICY,
            )
            self.sap.remember_metadata(service, response.content)
        _, es = self._entity_set(resource, entity)
        model = self.sap.metadata(service)
        for action in _actions(resource):
            if action not in model.function_imports:
                raise ERPConfigurationError(
                    f"service {service} has no function import {action} (the mapping of "
                    f"{entity.value} uses it)",
                    provider="sap",
                )
        for name in (resource.changed_field, resource.reference_field):
            if name and name not in es.properties:
                raise ERPConfigurationError(
                    f"{es.name} in {service} has no field {name} (the mapping of "
                    f"{entity.value} uses it)",
                    provider="sap",
                )

    def _diagnose(self, exc: ConnectorError, services: list[str]) -> str:
        service = self._current_service
        path = self.sap.service_path(service) if service else ""
        user = "the configured user"
        if isinstance(exc, ERPAuthenticationError):
            return (
                f"SAP rejected the credentials of {user} (401): check username, password "
                "and sap_client"
            )
        if isinstance(exc, ERPPermissionError):
            return (
                f"SAP refused access to {service} (403): the user lacks an authorisation "
                "for this service (check its roles, e.g. in SU53)"
            )
        if isinstance(exc, ERPNotFoundError):
            return (
                f"service path {path} not found (404): check base_url and that the service "
                f"{service} is activated on the Gateway (/IWFND/MAINT_SERVICE)"
            )
        return exc.detail

    def _result(self, started: float, ok: bool, message: str) -> ConnectionTestResult:
        latency = int((time.monotonic() - started) * 1000)
        return ConnectionTestResult(success=ok, latency_ms=latency, message=message)

    # --- pull ------------------------------------------------------------------------------

    def pull(self, entity: EntityType, *, since: Cursor | None = None) -> Iterator[Page]:
        resource = self._resource(entity, Direction.inbound)
        service, es = self._entity_set(resource, entity)
        params = self._pull_params(es, resource, since)
        watermark = since.watermark if since else None
        pending: Page | None = None
        for rows in self.sap.iter_collection(service, es.name, params, entity=entity.value):
            notes: list[str] = []
            records = [read_row(es, resource, row, notes) for row in rows]
            records = [r for r in records if self._currently_valid(r, resource)]
            for record in records:
                if record.changed_at and (watermark is None or record.changed_at > watermark):
                    watermark = record.changed_at
            if pending is not None:
                yield pending
            pending = Page(records=records, note="; ".join(notes) or None)
        last = pending or Page(records=[])
        yield Page(records=last.records, note=last.note, cursor=Cursor(watermark=watermark))

    def _pull_params(
        self, es: EntitySet, resource: Resource, since: Cursor | None
    ) -> dict[str, str]:
        clauses: list[str] = []
        if resource.options.get("filter"):
            clauses.append(f"({resource.options['filter']})")
        validity = resource.options.get("validity") or {}
        today = self._now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for op, name in (("le", validity.get("start")), ("ge", validity.get("end"))):
            if name:
                clauses.append(f"{name} {op} {filter_literal(self._type(es, name), today)}")
        if since and since.watermark and resource.changed_field:
            edm = self._type(es, resource.changed_field)
            clauses.append(f"{resource.changed_field} ge {filter_literal(edm, since.watermark)}")
        params = {"$orderby": ",".join(es.key)}
        if clauses:
            params["$filter"] = " and ".join(clauses)
        return params

    def _currently_valid(self, record: ERPRecord, resource: Resource) -> bool:
        validity = resource.options.get("validity") or {}
        now = self._now()
        start = record.fields.get(validity.get("start", ""))
        end = record.fields.get(validity.get("end", ""))
        if isinstance(start, datetime) and start.date() > now.date():
            return False
        return not (isinstance(end, datetime) and end.date() < now.date())

    @staticmethod
    def _type(es: EntitySet, name: str) -> str:
        prop = es.properties.get(name)
        if prop is None:
            raise ERPConfigurationError(f"{es.name} has no field {name}", provider="sap")
        return prop.edm_type

    # --- push and find ---------------------------------------------------------------------

    def push(self, entity: EntityType, records: Sequence[PushRecord]) -> list[PushResult]:
        resource = self._resource(entity, Direction.outbound)
        service, es = self._entity_set(resource, entity)
        writer = SapWriter(
            self.sap,
            service=service,
            es=es,
            resource=resource,
            model=self.sap.metadata(service),
            entity=entity.value,
            find=lambda reference: self.find(entity, reference),
        )
        return writer.push(records)

    def find(self, entity: EntityType, reference: str) -> ERPRecord | None:
        resource = self._resource(entity, Direction.outbound)
        if resource.reconcile is not Reconcile.reference or not resource.reference_field:
            return None
        service, es = self._entity_set(resource, entity)
        prop = es.properties.get(resource.reference_field)
        if prop is None:
            raise ERPConfigurationError(
                f"{es.name} has no field {resource.reference_field} to keep our reference",
                provider="sap",
                entity=entity.value,
            )
        value = reference_value(prop, reference)
        clause = f"{prop.name} eq {filter_literal(prop.edm_type, value)}"
        if resource.options.get("find_filter"):
            clause += f" and ({resource.options['find_filter']})"
        params = {"$filter": clause, "$orderby": ",".join(es.key)}
        notes: list[str] = []
        found: list[ERPRecord] = []
        for rows in self.sap.iter_collection(service, es.name, params, entity=entity.value):
            found += [read_row(es, resource, row, notes) for row in rows]
        if len(found) > 1:
            log.warning(
                "%d %s records carry the reference %s; using the newest",
                len(found),
                es.name,
                value,
            )
        return found[-1] if found else None


def split_path(path: str) -> tuple[str, str]:
    """``SERVICE/EntitySet`` as (service, entity set)."""
    service, sep, name = path.strip("/").rpartition("/")
    if not sep or not service or not name:
        raise ERPConfigurationError(
            f"SAP resource {path!r} must be SERVICE/EntitySet (e.g. API_EQUIPMENT/Equipment)",
            provider="sap",
        )
    return service, name


def _actions(resource: Resource) -> list[str]:
    lifecycle = lifecycle_of(resource, "")
    names = lifecycle.calls() if lifecycle else []
    if resource.options.get("cancel_action"):
        names.append(str(resource.options["cancel_action"]))
    return names
