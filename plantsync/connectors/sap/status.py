"""Status changes along the order life cycle declared in the mapping (``status_actions``).

SAP sets an order's status through function imports, each allowed only from certain
statuses (release before technical completion, technical completion before closing). A
record's target status becomes a ``StatusChange``: the chain of function imports from the
order's current status -- read from SAP for records we update, taken from the create answer
for new ones -- skipping the steps already done. The writer sends the chain in one changeset,
so SAP applies all of it or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from plantsync.connectors.base import Resource
from plantsync.connectors.base import key_string as join_key
from plantsync.connectors.lifecycle import StatusChangeError, StatusLifecycle, StatusStep
from plantsync.connectors.sap.client import SapClient
from plantsync.connectors.sap.metadata import EntitySet
from plantsync.connectors.sap.values import SapValueError, filter_literal, parse_datetime
from plantsync.errors import ERPConfigurationError, ERPValidationError

# Keys per status read: keeps the $filter (and so the URL) well under Gateway limits.
READ_CHUNK = 40


@dataclass(frozen=True)
class StatusChange:
    """The function imports taking one record from ``start`` to ``target``."""

    start: str
    target: str
    steps: tuple[StatusStep, ...]

    def describe(self) -> str:
        """``CRTD -> REL -> TECO (ReleaseMaintenanceOrder, SetMaintOrdToTechCompleted)``."""
        path = " -> ".join([self.start, *(s.status for s in self.steps)])
        return f"{path} ({', '.join(s.call for s in self.steps)})"


def lifecycle_of(resource: Resource, entity: str) -> StatusLifecycle | None:
    """The resource's declared life cycle (``options.status_actions``), if any.

    Raises:
        ERPConfigurationError: the declaration is invalid (a mapping built by hand; mapping
            files are checked when they load).
    """
    try:
        return StatusLifecycle.from_options(resource.options)
    except PydanticValidationError as exc:
        raise ERPConfigurationError(
            f"options.status_actions of {resource.path} is invalid: {exc.errors()[0]['msg']}",
            provider="sap",
            entity=entity,
        ) from None


def plan_change(
    lifecycle: StatusLifecycle,
    current_text: Any,
    target: str,
    *,
    order: str | None,
    record_key: str,
    entity: str,
) -> StatusChange:
    """The chain from the status in ``current_text`` to ``target``.

    Raises:
        ERPValidationError: the target cannot be reached (unknown, or backwards); the
            message names the order, both statuses and the transitions the life cycle allows.
    """
    start = lifecycle.current(current_text)
    try:
        steps = lifecycle.steps(start, target)
    except StatusChangeError as exc:
        subject = f"SAP order {order} is {start}: " if order else ""
        raise ERPValidationError(
            f"{subject}{exc}; the record was not sent",
            provider="sap",
            entity=entity,
            record_key=record_key,
        ) from None
    return StatusChange(start=start, target=target, steps=tuple(steps))


def read_statuses(
    sap: SapClient,
    service: str,
    es: EntitySet,
    resource: Resource,
    lifecycle: StatusLifecycle,
    keys: Iterable[Mapping[str, str]],
    *,
    entity: str,
) -> dict[str, Any]:
    """The status field of the records with ``keys`` (key field -> text), by ERP key string.

    Read in one filtered collection request per ``READ_CHUNK`` keys; a record SAP does not
    return is absent from the answer.
    """
    wanted = list(keys)
    found: dict[str, Any] = {}
    select = ",".join([*resource.key, lifecycle.field])
    for start in range(0, len(wanted), READ_CHUNK):
        clauses = [_key_clause(es, k) for k in wanted[start : start + READ_CHUNK]]
        params = {"$filter": " or ".join(clauses), "$select": select}
        for rows in sap.iter_collection(service, es.name, params, entity=entity):
            for row in rows:
                found[join_key([row.get(k) for k in resource.key])] = row.get(lifecycle.field)
    return found


def _key_clause(es: EntitySet, key: Mapping[str, str]) -> str:
    parts = [
        f"{name} eq {key_literal(es.properties[name].edm_type, value, label=f'key value {value!r}')}"
        for name, value in key.items()
        if name in es.properties
    ]
    return parts[0] if len(parts) == 1 else f"({' and '.join(parts)})"


def key_literal(edm_type: str, text: str, *, label: str) -> str:
    """The OData literal of a key part given as text (``ERPValidationError`` naming ``label``
    when a date key does not parse): the one rule for filters and entity URLs."""
    value: Any = text
    if edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        try:
            value = parse_datetime(text)
        except SapValueError as exc:
            raise ERPValidationError(f"{label}: {exc}", provider="sap") from None
    return filter_literal(edm_type, value)
