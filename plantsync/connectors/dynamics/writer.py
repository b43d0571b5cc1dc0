"""Writes to Dataverse: one request per record, sent in ``$batch`` chunks.

How a record is addressed (``Resource.reconcile`` and options):

- ``alternate_key`` option: ``PATCH entityset(key='our reference')``, an upsert by the
  alternate key the mapping names (none exists by default).
- ``our_key``: ``PATCH entityset(<UUID5 of tenant, entity, reference or local id>)``, an
  upsert: a create sent twice is an update, never a duplicate.
- an ``erp_key`` from an earlier push (rows we did not create): ``PATCH entityset(key)`` with
  ``If-Match: *`` (update only: a row deleted in Dynamics is reported, not re-created).
- ``reference``: ``POST`` with our reference in ``reference_field``; when the record may have
  been sent before, ``find()`` looks it up first and an update follows instead.
- ``none``: ``POST``; such a batch whose answer is lost raises ``AmbiguousWriteError``.

Every request asks for ``return=representation`` with ``$select`` of the key, so the answer
says whether the row was created (201) or updated (200) and which key it has.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from plantsync.connectors.base import ERPRecord, PushRecord, PushResult, Reconcile, Resource
from plantsync.connectors.dynamics.batch import BatchAnswer, BatchPart, send_batch
from plantsync.connectors.dynamics.client import MAX_BATCH_REQUESTS, DataverseClient, prefer
from plantsync.connectors.dynamics.codec import (
    PROVIDER,
    deterministic_guid,
    entity_id,
    json_value,
    key_segment,
)
from plantsync.entities import EntityType
from plantsync.errors import ERPValidationError, RecordError

DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class _Write:
    index: int
    record: PushRecord
    part: BatchPart
    idempotent: bool
    method: str


Finder = Callable[[EntityType, str], ERPRecord | None]


class DataverseWriter:
    """Plans and sends writes (see the module docstring).

    Args:
        client: the connection's ``DataverseClient``.
        find: looks up the row carrying our reference (the connector's ``find``), for a
            create that may have been sent before.
        tenant_id: the namespace of the deterministic GUIDs we give rows we create.
    """

    def __init__(self, client: DataverseClient, *, find: Finder, tenant_id: uuid.UUID) -> None:
        self.client = client
        self.find = find
        self.tenant_id = tenant_id

    def guid(self, entity: EntityType, reference: str) -> uuid.UUID:
        """Our deterministic row id for a record of ``entity`` (see ``deterministic_guid``)."""
        return deterministic_guid(self.tenant_id, entity.value, reference)

    def push(
        self, entity: EntityType, resource: Resource, records: Sequence[PushRecord]
    ) -> list[PushResult]:
        results: dict[int, PushResult] = {}
        writes: list[_Write] = []
        for index, record in enumerate(records):
            try:
                writes.append(self._plan(index, entity, resource, record))
            except RecordError as err:
                results[index] = PushResult(record.local_id, error=err)
        size = _batch_size(resource)
        for start in range(0, len(writes), size):
            chunk = writes[start : start + size]
            answers = self._send(entity, chunk)
            for write, answer in zip_longest(chunk, answers[: len(chunk)]):
                results[write.index] = _result(entity, resource, write, answer)
        return [results[i] for i in range(len(records))]

    def _plan(
        self, index: int, entity: EntityType, resource: Resource, record: PushRecord
    ) -> _Write:
        body = self._body(entity, resource, record)
        reference = record.reference or record.local_id
        headers: dict[str, str] = {}
        alternate = resource.options.get("alternate_key")
        if resource.create_only and record.erp_key:
            raise ERPValidationError(
                f"{resource.path} is create-only in the mapping: the record was sent before "
                f"as {record.erp_key} and cannot be changed",
                provider=PROVIDER,
                entity=entity.value,
                record_key=record.local_id,
            )
        if alternate:
            method, segment = "PATCH", key_segment({str(alternate): reference})
        elif resource.reconcile is Reconcile.our_key:
            method, segment = (
                "PATCH",
                key_segment(record.erp_key or str(self.guid(entity, reference))),
            )
        elif record.erp_key:
            method, segment = "PATCH", key_segment(record.erp_key)
            headers["If-Match"] = "*"
        else:
            method, segment = self._create(entity, resource, record, body, headers)
        url = f"{self.client.root}{resource.path}{segment}?$select={resource.key[0]}"
        headers["Prefer"] = prefer(return_representation=True)
        part = BatchPart(method, url, headers=headers, body=body)
        return _Write(index, record, part, idempotent=method == "PATCH", method=method)

    def _create(
        self,
        entity: EntityType,
        resource: Resource,
        record: PushRecord,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> tuple[str, str]:
        if resource.reconcile is Reconcile.reference and resource.reference_field:
            reference = record.reference or record.local_id
            body[resource.reference_field] = reference
            if record.maybe_sent:
                found = self.find(entity, reference)
                if found is not None:
                    headers["If-Match"] = "*"
                    return "PATCH", key_segment(found.key)
        return "POST", ""

    def _body(self, entity: EntityType, resource: Resource, record: PushRecord) -> dict[str, Any]:
        lookups: Mapping[str, str] = resource.options.get("lookups") or {}
        body: dict[str, Any] = {}
        for name, value in record.fields.items():
            try:
                encoded = json_value(value)
            except ValueError as exc:
                raise ERPValidationError(
                    f"{name}: {exc}",
                    provider=PROVIDER,
                    entity=entity.value,
                    record_key=record.local_id,
                ) from exc
            if name in lookups:
                bound = f"/{lookups[name]}({encoded})" if encoded not in (None, "") else None
                body[f"{name}@odata.bind"] = bound
            else:
                body[name] = encoded
        return body

    def _send(self, entity: EntityType, writes: Sequence[_Write]) -> list[BatchAnswer]:
        # Upserts by key can be sent again safely; plain creates cannot.
        idempotent = all(w.idempotent for w in writes)
        return send_batch(
            self.client, [w.part for w in writes], idempotent=idempotent, entity=entity
        )


def _batch_size(resource: Resource) -> int:
    try:
        size = int(resource.options.get("batch_size", DEFAULT_BATCH_SIZE))
    except (TypeError, ValueError):
        size = DEFAULT_BATCH_SIZE
    return max(1, min(MAX_BATCH_REQUESTS, size))


def _result(
    entity: EntityType, resource: Resource, write: _Write, answer: BatchAnswer | None
) -> PushResult:
    local_id = write.record.local_id
    ctx: dict[str, Any] = {"provider": PROVIDER, "entity": entity.value, "record_key": local_id}
    if answer is None:
        return PushResult(
            local_id,
            error=RecordError("Dataverse stopped the batch before this record", **ctx),
        )
    if not answer.ok:
        err = answer.error()
        kind = ERPValidationError if answer.status < 500 and answer.status != 429 else RecordError
        return PushResult(
            local_id, error=kind(f"{answer.status} {err}", status=answer.status, **ctx)
        )
    row = answer.json() if answer.body else None
    key = row.get(resource.key[0]) if isinstance(row, dict) else None
    key = key or entity_id(answer.headers.get("OData-EntityId"))
    created = answer.status == 201 or (answer.status == 204 and write.method == "POST")
    return PushResult(local_id, erp_key=str(key) if key else None, created=created)
