"""Bulk writes to one entity set as ``$batch`` changesets, one record per changeset.

A record becomes a small plan: its requests (a create ``POST``, an update ``MERGE``, for a
``create_only`` correction the cancellation function import followed by the new record, for
an update with a status the chain of status function imports, see ``status.py``) and how to
read its result. A record whose earlier attempt may have landed (``maybe_sent``) is looked up
by our reference first and is never created twice.

Status changes follow the life cycle in the mapping (``status_actions``): the current status
of records we update is read first (one filtered read per chunk of keys); an update and its
whole chain go in one changeset, so a refusal leaves the order as it was. A status on a newly
created record needs the key SAP assigns, so its chain goes in a second batch -- one changeset
per record, from the status in the create answer; if SAP refuses it the record is created
(its key is kept) and its error says which status change was refused and where it stays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from plantsync.connectors.base import ERPRecord, PushRecord, PushResult, Reconcile, Resource
from plantsync.connectors.base import key_string as join_key
from plantsync.connectors.sap.batch import BatchRequest, BatchResponse, batch_size
from plantsync.connectors.sap.client import SapClient
from plantsync.connectors.sap.codec import error_text, payload, reference_value, split_pairs
from plantsync.connectors.sap.metadata import EntitySet, ServiceModel
from plantsync.connectors.sap.status import (
    StatusChange,
    key_literal,
    lifecycle_of,
    plan_change,
    read_statuses,
)
from plantsync.errors import ERPConfigurationError, ERPValidationError, RecordError


@dataclass
class _Plan:
    index: int
    record: PushRecord
    requests: list[BatchRequest]
    main: int  # the request whose answer carries the record's key
    create: bool  # the result is a creation (from the ERP's point of view)
    erp_key: str | None = None  # known key (updates, records found by reference)
    target: str | None = None  # status to reach once SAP has assigned the key (creates)
    change: StatusChange | None = None  # status chain sent with an update
    created_status: Any = None  # status text in the create answer


class SapWriter:
    """Writes records to one entity set of one service (see the module docstring).

    Args:
        sap: the connection's ``SapClient``.
        service, es, resource, model: where the records go, and the service's metadata.
        entity: the entity's name, for errors.
        find: looks up the ERP record carrying our reference (reconciliation).
    """

    def __init__(
        self,
        sap: SapClient,
        *,
        service: str,
        es: EntitySet,
        resource: Resource,
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
        self.batch_size = batch_size(resource, entity)
        self.lifecycle = lifecycle_of(resource, entity)

    def push(self, records: Sequence[PushRecord]) -> list[PushResult]:
        results: list[PushResult | None] = [None] * len(records)
        plans: list[_Plan] = []
        statuses = self._current_statuses(records)
        for index, record in enumerate(records):
            try:
                planned = self._plan(index, record, statuses)
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

    def _plan(
        self, index: int, record: PushRecord, statuses: Mapping[str, Any]
    ) -> _Plan | PushResult:
        fields = dict(record.fields)
        target = self._pop_target(fields)
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
                if self.lifecycle is not None:
                    statuses = {found.key: found.fields.get(self.lifecycle.field)}
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
            change = self._change(record, erp_key, statuses, target)
            if change is not None:
                requests += [self._function(step.call, erp_key) for step in change.steps]
            return _Plan(index, record, requests, 0, found_create, erp_key, change=change)
        if target is not None and self.lifecycle is not None:
            # a target a new record can never reach fails before anything is created
            plan_change(
                self.lifecycle,
                None,
                target,
                order=None,
                record_key=record.local_id,
                entity=self.entity,
            )
        body = payload(self.es, fields, create=True, record_key=record.local_id, entity=self.entity)
        return _Plan(
            index, record, [BatchRequest("POST", self.es.name, body)], 0, True, target=target
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

    # --- status ----------------------------------------------------------------------------

    def _pop_target(self, fields: dict[str, Any]) -> str | None:
        """The target status, taken out of the fields (SAP sets it by function imports)."""
        if self.lifecycle is None or self.lifecycle.field not in fields:
            return None
        value = fields.pop(self.lifecycle.field)
        return None if value in (None, "") else str(value)

    def _current_statuses(self, records: Sequence[PushRecord]) -> dict[str, Any]:
        """The current status of the records we update with a target status, by ERP key."""
        if self.lifecycle is None or self.resource.create_only:
            return {}
        field = self.lifecycle.field
        keys: list[dict[str, str]] = []
        for record in records:
            if record.erp_key is None or record.fields.get(field) in (None, ""):
                continue
            try:
                keys.append(self._key_values(record.erp_key))
            except ERPValidationError:
                continue  # a malformed key fails its own record when it is planned
        if not keys:
            return {}
        return read_statuses(
            self.sap,
            self.service,
            self.es,
            self.resource,
            self.lifecycle,
            keys,
            entity=self.entity,
        )

    def _change(
        self, record: PushRecord, erp_key: str, statuses: Mapping[str, Any], target: str | None
    ) -> StatusChange | None:
        if target is None or self.lifecycle is None:
            return None
        if erp_key not in statuses:
            raise RecordError(
                f"SAP has no {self.es.name} {erp_key} (read for its status before the update)",
                provider="sap",
                entity=self.entity,
                record_key=record.local_id,
            )
        change = plan_change(
            self.lifecycle,
            statuses[erp_key],
            target,
            order=erp_key,
            record_key=record.local_id,
            entity=self.entity,
        )
        return change if change.steps else None

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
        return quote(key_literal(edm_type, text, label=name), safe="'")

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
                if plan.target is not None and plan.main < len(responses):
                    plan.created_status = self._answer_status(responses[plan.main])

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

    @staticmethod
    def _answer(response: BatchResponse | None) -> Mapping[str, Any] | None:
        if response is None:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        data = body.get("d", body) if isinstance(body, Mapping) else None
        return data if isinstance(data, Mapping) else None

    def _answer_status(self, response: BatchResponse) -> Any:
        data = self._answer(response)
        return data.get(self.lifecycle.field) if data and self.lifecycle else None

    def _created_key(self, response: BatchResponse | None) -> str | None:
        data = self._answer(response)
        if data is None:
            return None
        values = [data.get(k) for k in self.resource.key]
        if any(v in (None, "") for v in values):
            return None
        return join_key(values)

    def _record_error(self, plan: _Plan, response: BatchResponse) -> RecordError:
        message = error_text(response.body, response.headers) or f"HTTP {response.status}"
        if plan.change is not None:
            message += (
                f" (sent with the status change {plan.change.describe()} in one changeset: "
                f"none of it was applied, the order stays {plan.change.start})"
            )
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
        """Each new record's status chain, in its own changeset once SAP assigned the key."""
        todo: list[tuple[_Plan, str, StatusChange]] = []
        for plan in plans:
            result = results[plan.index]
            if plan.target is None or result is None or not result.ok or not result.erp_key:
                continue
            try:
                change = self._created_change(plan, plan.target, result.erp_key)
            except RecordError as exc:
                results[plan.index] = self._created_but(plan, result.erp_key, exc.detail)
                continue
            if change.steps:
                todo.append((plan, result.erp_key, change))
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            changesets = [[self._function(s.call, key) for s in c.steps] for _, key, c in chunk]
            answers = self.sap.batch(self.service, changesets, entity=self.entity)
            for (plan, key, change), responses in zip(chunk, answers, strict=True):
                failed = next((r for r in responses if r.status >= 400), None)
                if failed is not None:
                    error = self._record_error(plan, failed)
                    results[plan.index] = self._created_but(
                        plan,
                        key,
                        f"SAP refused the status change {change.describe()}; none of it was "
                        f"applied, the order stays {change.start}: {error.detail}",
                    )

    def _created_change(self, plan: _Plan, target: str, key: str) -> StatusChange:
        lifecycle = self.lifecycle
        if lifecycle is None:  # a target is only taken out of the fields with a life cycle
            return StatusChange(start=target, target=target, steps=())
        return plan_change(
            lifecycle,
            plan.created_status,
            target,
            order=key,
            record_key=plan.record.local_id,
            entity=self.entity,
        )

    def _created_but(self, plan: _Plan, key: str, problem: str) -> PushResult:
        return PushResult(
            local_id=plan.record.local_id,
            erp_key=key,
            created=True,
            error=ERPValidationError(
                f"created as {key}, but {problem}",
                provider="sap",
                entity=self.entity,
                record_key=plan.record.local_id,
            ),
        )
