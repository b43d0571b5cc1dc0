"""Writes to Oracle Fusion REST: planned per record, sent as all-or-none batches.

How a record is written (``Resource.reconcile`` and options):

- an ``erp_key`` from an earlier push: ``update`` of that item (``create_only`` resources
  refuse it as the record's error).
- ``our_key``: an ``upsert`` (``Upsert-Mode``) carrying our reference in the key field, so a
  create sent twice is an update, never a duplicate.
- ``reference``: a ``create`` with our reference in ``reference_field``; when the record may
  have been sent before, ``find`` looks it up first and an update follows instead.

Batches are all-or-none on the server: a refused batch is split in halves and sent again
until the bad record stands alone and is reported as that record's error. A batch whose
answer is lost re-sends its updates and upserts (idempotent) and looks creates up first;
a create that cannot be reconciled is never sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plantsync.connectors.base import (
    ERPRecord,
    PushRecord,
    PushResult,
    Reconcile,
    Resource,
    key_string,
)
from plantsync.connectors.oracle.batch import BatchPart
from plantsync.connectors.oracle.client import OracleClient
from plantsync.connectors.oracle.codec import PROVIDER, format_value
from plantsync.entities import EntityType
from plantsync.errors import AmbiguousWriteError, ERPConfigurationError, RecordError

Finder = Callable[[EntityType, str], ERPRecord | None]


@dataclass
class _Op:
    """One planned write: a record at ``index`` of the push, as a batch part."""

    index: int
    record: PushRecord
    operation: str  # create | update | upsert
    payload: dict[str, Any]
    key: str | None = None


class OracleWriter:
    """Plans and sends a connector's writes (see the module docstring).

    Args:
        oracle: the wire client.
        find: looks a record up by our reference (the connector's ``find``).
        default_batch_size: records per batch unless the resource's ``batch_size`` option says.
    """

    def __init__(self, oracle: OracleClient, *, find: Finder, default_batch_size: int) -> None:
        self.oracle = oracle
        self._find = find
        self.default_batch_size = default_batch_size

    def push(
        self, entity: EntityType, res: Resource, records: Sequence[PushRecord]
    ) -> list[PushResult]:
        """Write ``records`` to ``res``: one result per record, in order (see the module)."""
        results: list[PushResult | None] = [None] * len(records)
        ops: list[_Op] = []
        for index, record in enumerate(records):
            try:
                ops.append(self._plan(entity, res, index, record))
            except RecordError as err:
                results[index] = PushResult(record.local_id, error=err)
        size = max(1, int(res.options.get("batch_size", self.default_batch_size)))
        for start in range(0, len(ops), size):
            self._write(entity, res, ops[start : start + size], results)
        return [
            r if r is not None else PushResult(records[i].local_id) for i, r in enumerate(results)
        ]

    def _plan(self, entity: EntityType, res: Resource, index: int, record: PushRecord) -> _Op:
        payload = {k: format_value(v) for k, v in record.fields.items()}
        if record.erp_key:
            if res.create_only:
                raise self._record_error(
                    entity, record, f"{res.path} records cannot be changed once created"
                )
            return _Op(index, record, "update", _without(payload, res.key), key=record.erp_key)
        payload = {k: v for k, v in payload.items() if not (k in res.key and v is None)}
        if res.reconcile is Reconcile.our_key:
            payload[res.reference_field or res.key[0]] = record.reference or record.local_id
            return _Op(index, record, "upsert", payload)
        if res.reconcile is Reconcile.reference and res.reference_field and record.reference:
            payload[res.reference_field] = record.reference
        if record.maybe_sent:
            return self._reconciled(entity, res, index, record, payload)
        return _Op(index, record, "create", payload)

    def _reconciled(
        self,
        entity: EntityType,
        res: Resource,
        index: int,
        record: PushRecord,
        payload: dict[str, Any],
    ) -> _Op:
        """An earlier create may have landed: look it up; update it if found, else create."""
        if res.reconcile is not Reconcile.reference or not record.reference:
            raise self._record_error(
                entity,
                record,
                f"an earlier create may have reached Oracle and {res.path} cannot be reconciled: "
                "check Oracle for this record before sending it again",
            )
        found = self._find(entity, record.reference)
        if found is None:
            return _Op(index, record, "create", payload)
        return _Op(index, record, "update", _without(payload, res.key), key=found.key)

    def _write(
        self, entity: EntityType, res: Resource, ops: list[_Op], results: list[PushResult | None]
    ) -> None:
        """Write ``ops``; a refused batch is split in halves until the bad record stands alone."""
        if not ops:
            return
        try:
            answers = self._send_ops(entity, res, ops)
        except RecordError as err:
            if len(ops) == 1:
                op = ops[0]
                results[op.index] = PushResult(
                    op.record.local_id, error=self._tag(err, entity, op.record)
                )
                return
            mid = len(ops) // 2
            self._write(entity, res, ops[:mid], results)
            self._write(entity, res, ops[mid:], results)
            return
        except AmbiguousWriteError:
            self._recover(entity, res, ops, results)
            return
        for op, answer in zip(ops, answers, strict=True):
            results[op.index] = self._result(res, op, answer)

    def _send_ops(
        self, entity: EntityType, res: Resource, ops: Sequence[_Op]
    ) -> list[dict[str, Any]]:
        if len(ops) == 1 or not self._batchable(res):
            return [self._send_one(entity, res, op) for op in ops]
        parts = [
            BatchPart(str(op.index), self._part_path(res, op), op.operation, op.payload)
            for op in ops
        ]
        idempotent = all(op.operation != "create" for op in ops)
        answers = self.oracle.batch(parts, idempotent=idempotent, entity=entity.value)
        return [answers[str(op.index)] for op in ops]

    def _send_one(self, entity: EntityType, res: Resource, op: _Op) -> dict[str, Any]:
        if op.operation == "update":
            assert op.key is not None
            return self.oracle.update(
                res.path, self._url_key(res, op.key), op.payload, entity=entity.value
            )
        return self.oracle.create(
            res.path, op.payload, upsert=op.operation == "upsert", entity=entity.value
        )

    def _recover(
        self,
        entity: EntityType,
        res: Resource,
        ops: Sequence[_Op],
        results: list[PushResult | None],
    ) -> None:
        """The answer to a write was lost: re-send updates/upserts (idempotent); look creates
        up by our reference first, and never re-send a create that cannot be reconciled."""
        for op in ops:
            record = op.record
            if op.operation == "create":
                if res.reconcile is not Reconcile.reference or not record.reference:
                    results[op.index] = PushResult(
                        record.local_id,
                        error=self._record_error(
                            entity,
                            record,
                            f"the answer to the create was lost and {res.path} cannot be "
                            "reconciled: check Oracle for this record before sending it again",
                        ),
                    )
                    continue
                found = self._find(entity, record.reference)
                if found is not None:
                    results[op.index] = PushResult(record.local_id, erp_key=found.key, created=True)
                    continue
            try:
                answer = self._send_one(entity, res, op)
            except RecordError as err:
                results[op.index] = PushResult(
                    record.local_id, error=self._tag(err, entity, record)
                )
                continue
            except AmbiguousWriteError as err:
                results[op.index] = PushResult(
                    record.local_id,
                    error=self._record_error(
                        entity, record, f"{err.detail}; reconcile before re-sending"
                    ),
                )
                continue
            results[op.index] = self._result(res, op, answer)

    def _result(self, res: Resource, op: _Op, answer: Mapping[str, Any]) -> PushResult:
        if op.operation == "update" and op.key is not None:
            return PushResult(op.record.local_id, erp_key=op.key)
        source = answer if all(k in answer for k in res.key) else op.payload
        if not all(source.get(k) is not None for k in res.key):
            detail = f"Oracle wrote the record but its answer carries no {', '.join(res.key)}"
            error = RecordError(detail, provider=PROVIDER, record_key=op.record.local_id)
            return PushResult(op.record.local_id, error=error)
        key = key_string([source[k] for k in res.key])
        return PushResult(op.record.local_id, erp_key=key, created=op.operation == "create")

    def _batchable(self, res: Resource) -> bool:
        return not res.path.startswith("/") and bool(res.options.get("batch", True))

    def _part_path(self, res: Resource, op: _Op) -> str:
        if op.operation == "update":
            assert op.key is not None
            return f"/{res.path}/{self._url_key(res, op.key)}"
        return f"/{res.path}"

    def _url_key(self, res: Resource, key: str) -> str:
        if len(res.key) != 1:
            raise ERPConfigurationError(
                f"{res.path} has a composite key; Oracle addresses items by one key field",
                provider=PROVIDER,
            )
        return key

    def _record_error(self, entity: EntityType, record: PushRecord, detail: str) -> RecordError:
        return RecordError(
            detail, provider=PROVIDER, entity=entity.value, record_key=record.local_id
        )

    def _tag(self, err: RecordError, entity: EntityType, record: PushRecord) -> RecordError:
        """The ERP's refusal as this record's error (same type, with the record's context)."""
        return type(err)(
            err.detail,
            provider=PROVIDER,
            entity=entity.value,
            record_key=record.local_id,
            status=err.status,
        )


def _without(payload: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in keys}
