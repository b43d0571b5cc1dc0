"""Bulk writes to one entity set as ``$batch`` changesets, one record per changeset.

A record becomes a small plan: its requests (a create ``POST``, an update ``MERGE``, for a
``create_only`` correction the cancellation function import followed by the new record, for
an update with a status the status function import) and how to read its result. A record
whose earlier attempt may have landed (``maybe_sent``) is looked up by our reference first
and is never created twice. A status on a newly created record is set by a second batch once
SAP has assigned the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from plantsync.connectors.base import ERPRecord, PushRecord, PushResult, Reconcile, Resource
from plantsync.connectors.base import key_string as join_key
from plantsync.connectors.sap.batch import BatchRequest, BatchResponse
from plantsync.connectors.sap.client import SapClient, error_text
from plantsync.connectors.sap.metadata import EntitySet, ServiceModel
from plantsync.connectors.sap.records import payload, reference_value, split_pairs
from plantsync.connectors.sap.values import SapValueError, filter_literal, parse_datetime
from plantsync.errors import ERPConfigurationError, ERPValidationError, RecordError

log = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 50


@dataclass
class _Plan:
    index: int
    record: PushRecord
    requests: list[BatchRequest]
    main: int  # the request whose answer carries the record's key
    create: bool  # the result is a creation (from the ERP's point of view)
    erp_key: str | None = None  # known key (updates, records found by reference)
    status_action: str | None = None  # function import to call once the key is known


class Writer:
    """Writes records to one entity set of one service (see the module docstring)."""

    def __init__(
        self,
        sap: SapClient,
        service: str,
        es: EntitySet,
        resource: Resource,
        *,
        model: ServiceModel,
        entity: str,
        find: Callable[[str], ERPRecord | None],
    ) -> None:
        self.sap = sap
        self.service = service
        self.es = es
        self.resource = resource
        self.model = model
        self.entity = entity
        self.find = find
        self.batch_size = int(resource.options.get("batch_size") or DEFAULT_BATCH_SIZE)

    def push(self, records: Sequence[PushRecord]) -> list[PushResult]:
        results: list[PushResult | None] = [None] * len(records)
        plans: list[_Plan] = []
        for index, record in enumerate(records):
            try:
                planned = self._plan(index, record)
            except RecordError as exc:
                results[index] = PushResult(local_id=record.local_id, error=exc)
                continue
            if isinstance(planned, PushResult):
                results[index] = planned
            else:
                plans.append(planned)
        self._run(plans, results)
        self._set_status_after_create(plans, results)
        return [
            r or PushResult(local_id=rec.local_id) for r, rec in zip(results, records, strict=True)
        ]

    # --- planning --------------------------------------------------------------------------

    def _plan(self, index: int, record: PushRecord) -> _Plan | PushResult:
        fields = dict(record.fields)
        status_action = self._status_action(fields)
        fields = split_pairs(fields, self.resource.options.get("datetime_pairs") or {})
        erp_key = record.erp_key
        found_create = False
        if record.maybe_sent and record.reference and self._reconciles():
            found = self.find(record.reference)
            if found is not None and self.resource.create_only:
                if erp_key is None or found.key != erp_key:
                    return PushResult(local_id=record.local_id, erp_key=found.key, created=True)
            elif found is not None and erp_key is None:
                erp_key, found_create = found.key, True
        if record.reference and self.resource.reference_field:
            prop = self.es.properties.get(self.resource.reference_field)
            if prop is not None:
                fields[prop.name] = reference_value(prop, record.reference)
        if self.resource.create_only:
            return self._plan_create_only(index, record, fields, erp_key)
        if erp_key is not None:
            body = payload(
                self.es, fields, create=False, record_key=record.local_id, entity=self.entity
            )
            requests = [BatchRequest("MERGE", self._entity_url(erp_key), body)]
            if status_action:
                requests.append(self._function(status_action, erp_key))
            return _Plan(index, record, requests, 0, found_create, erp_key)
        body = payload(self.es, fields, create=True, record_key=record.local_id, entity=self.entity)
        return _Plan(
            index,
            record,
            [BatchRequest("POST", self.es.name, body)],
            0,
            True,
            status_action=status_action,
        )

    def _plan_create_only(
        self, index: int, record: PushRecord, fields: Mapping[str, Any], erp_key: str | None
    ) -> _Plan:
        requests: list[BatchRequest] = []
        if erp_key is not None:
            cancel = self.resource.options.get("cancel_action")
            if not cancel:
                raise ERPConfigurationError(
                    f"{self.es.name} is create-only but the mapping names no cancel_action",
                    provider="sap",
                    entity=self.entity,
                )
            requests.append(self._function(str(cancel), erp_key))
        body = payload(self.es, fields, create=True, record_key=record.local_id, entity=self.entity)
        requests.append(BatchRequest("POST", self.es.name, body))
        return _Plan(index, record, requests, len(requests) - 1, True)

    def _reconciles(self) -> bool:
        return self.resource.reconcile is Reconcile.reference and bool(
            self.resource.reference_field
        )

    def _status_action(self, fields: dict[str, Any]) -> str | None:
        config = self.resource.options.get("status_actions") or {}
        status_field = config.get("field")
        if not status_field or status_field not in fields:
            return None
        value = fields.pop(status_field)
        action = (config.get("actions") or {}).get(str(value)) if value is not None else None
        if value is not None and action is None:
            log.debug("no function import sets %s=%s on %s", status_field, value, self.es.name)
        return str(action) if action else None

    # --- URLs ------------------------------------------------------------------------------

    def _key_values(self, erp_key: str) -> dict[str, str]:
        parts = erp_key.split("|")
        if len(parts) != len(self.resource.key):
            raise ERPValidationError(
                f"ERP key {erp_key!r} does not have the fields {', '.join(self.resource.key)}",
                provider="sap",
                entity=self.entity,
            )
        return dict(zip(self.resource.key, parts, strict=True))

    def _literal(self, name: str, text: str, edm_type: str) -> str:
        value: Any = text
        if edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
            try:
                value = parse_datetime(text)
            except SapValueError as exc:
                raise ERPValidationError(f"{name}: {exc}", provider="sap") from None
        return quote(filter_literal(edm_type, value), safe="'")

    def _entity_url(self, erp_key: str) -> str:
        values = self._key_values(erp_key)
        parts = [
            f"{name}={self._literal(name, text, self.es.properties[name].edm_type)}"
            for name, text in values.items()
            if name in self.es.properties
        ]
        if len(parts) == 1:
            return f"{self.es.name}({parts[0].split('=', 1)[1]})"
        return f"{self.es.name}({','.join(parts)})"

    def _function(self, name: str, erp_key: str) -> BatchRequest:
        fi = self.model.function_imports.get(name)
        if fi is None:
            raise ERPConfigurationError(
                f"service {self.service} has no function import {name}",
                provider="sap",
                entity=self.entity,
            )
        values = self._key_values(erp_key)
        args = []
        for param in fi.parameters.values():
            if param.name in values:
                args.append(
                    f"{param.name}={self._literal(param.name, values[param.name], param.edm_type)}"
                )
        return BatchRequest(fi.http_method, f"{name}?{'&'.join(args)}")

    # --- running ---------------------------------------------------------------------------

    def _run(self, plans: list[_Plan], results: list[PushResult | None]) -> None:
        for start in range(0, len(plans), self.batch_size):
            chunk = plans[start : start + self.batch_size]
            answers = self.sap.batch(self.service, [p.requests for p in chunk], entity=self.entity)
            for plan, responses in zip(chunk, answers, strict=True):
                results[plan.index] = self._outcome(plan, responses)

    def _outcome(self, plan: _Plan, responses: list[BatchResponse]) -> PushResult:
        local_id = plan.record.local_id
        for response in responses:
            if response.status >= 400:
                return PushResult(local_id=local_id, error=self._record_error(plan, response))
        if plan.erp_key is not None:
            return PushResult(local_id=local_id, erp_key=plan.erp_key, created=plan.create)
        key = self._created_key(responses[plan.main] if plan.main < len(responses) else None)
        if key is None:
            return PushResult(
                local_id=local_id,
                error=RecordError(
                    f"SAP accepted the record but its answer names no {self.es.name} key",
                    provider="sap",
                    entity=self.entity,
                    record_key=local_id,
                ),
            )
        return PushResult(local_id=local_id, erp_key=key, created=True)

    def _created_key(self, response: BatchResponse | None) -> str | None:
        if response is None:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        data = body.get("d", body) if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            return None
        values = [data.get(k) for k in self.resource.key]
        if any(v in (None, "") for v in values):
            return None
        return join_key(values)

    def _record_error(self, plan: _Plan, response: BatchResponse) -> RecordError:
        message = error_text(response.body, response.headers) or f"HTTP {response.status}"
        cls = ERPValidationError if response.status < 500 else RecordError
        return cls(
            f"SAP refused it ({response.status}): {message}",
            provider="sap",
            entity=self.entity,
            record_key=plan.record.local_id,
            status=response.status,
        )

    def _set_status_after_create(
        self, plans: list[_Plan], results: list[PushResult | None]
    ) -> None:
        todo: list[tuple[_Plan, str]] = []
        for plan in plans:
            result = results[plan.index]
            fresh = plan.status_action and plan.erp_key is None
            if fresh and result is not None and result.ok and result.erp_key:
                todo.append((plan, result.erp_key))
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            changesets = [[self._function(str(p.status_action), key)] for p, key in chunk]
            answers = self.sap.batch(self.service, changesets, entity=self.entity)
            for (plan, key), responses in zip(chunk, answers, strict=True):
                failed = next((r for r in responses if r.status >= 400), None)
                if failed is not None:
                    error = self._record_error(plan, failed)
                    results[plan.index] = PushResult(
                        local_id=plan.record.local_id,
                        erp_key=key,
                        created=True,
                        error=ERPValidationError(
                            f"created as {key}, but {plan.status_action} failed: {error.detail}",
                            provider="sap",
                            entity=self.entity,
                            record_key=plan.record.local_id,
                        ),
                    )
