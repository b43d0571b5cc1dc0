"""The mapping file format and its loader: ``mappings/<provider>.yaml``.

A mapping file says, per entity and direction, where the entity lives in the ERP and how its
canonical fields (``canonical.CANONICAL_FIELDS``) map to ERP fields::

    provider: sap
    entities:
      machine:
        inbound:
          resource: API_EQUIPMENT/Equipment      # SAP SERVICE/EntitySet, Dataverse entity set,
                                                 # Oracle resource
          key: [Equipment, ValidityEndDate]      # ERP key fields, in order
          changed_field: LastChangeDateTime      # for incremental pulls (optional)
          reconcile: none                        # our_key | reference | none (see Reconcile)
          reference_field: null                  # ERP field keeping our reference (reference)
          create_only: false                     # a change is a cancellation + a new record
          fields:                                # canonical field -> ERP field
            machine_id: Equipment
            name: EquipmentName
          values:                                # canonical field -> {canonical: ERP value}
            status: {running: "ESTO", down: "INAC"}
          convert:                               # canonical field -> conversion (CONVERSIONS)
            ideal_cycle_time_s: duration_s
          constants: {MaintenanceOrderType: YA01}  # ERP field -> value, always sent (outbound)
          defaults: {kind: maintenance}          # canonical field -> value when the ERP has none
          required: [work_order_id]              # outbound: canonical fields a record must
                                                 # carry; a reference (machine_id,
                                                 # work_order_id) must resolve to an ERP key
                                                 # linked through the connection, or the
                                                 # record fails before it is sent
          pulled_references: [work_order_id]     # references that resolve only to records
                                                 # pulled from the ERP (inbound links), e.g.
                                                 # SAP confirmations name production orders
          options: {}                            # provider-specific (function imports, ...);
                                                 # status_actions: a status life cycle
                                                 # (lifecycle.py), checked here
          notes: "free text shown by `plantsync mappings show`"

The file is validated when loaded: an unknown entity, direction, canonical field or conversion,
or a missing key, is a ``MappingError`` naming the file, entity and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources as importlib_resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from plantsync.connectors.base import Reconcile, Resource
from plantsync.connectors.lifecycle import OPTION, StatusLifecycle
from plantsync.entities import Direction, EntityType
from plantsync.errors import ConfigurationError
from plantsync.mappings.canonical import CANONICAL_FIELDS

CONVERSIONS: Mapping[str, str] = {
    "str": "text as is (trimmed)",
    "int": "whole number",
    "decimal": "decimal number (Edm.Decimal strings, Oracle numbers)",
    "bool": "boolean (true/false, X/blank)",
    "datetime": "timestamp with zone; naive ERP values are read in the site's zone",
    "date": "calendar date in the site's zone (start of day)",
    "time": "time of day (Edm.Time PT8H30M)",
    "duration_s": "seconds <-> the ERP's number of seconds",
    "duration_min": "canonical seconds/minutes <-> ERP minutes",
    "duration_h": "canonical minutes <-> ERP hours (decimal)",
    "money_minor": "integer minor units <-> decimal major units",
}


class MappingError(ConfigurationError):
    """A mapping file or override is invalid; the message names file, entity and field."""


class EntityMapping(BaseModel):
    """How one entity maps in one direction (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str = Field(min_length=1)
    key: tuple[str, ...] = Field(min_length=1)
    changed_field: str | None = None
    reconcile: Reconcile = Reconcile.none
    reference_field: str | None = None
    create_only: bool = False
    fields: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    convert: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    required: tuple[str, ...] = ()
    pulled_references: tuple[str, ...] = ()
    options: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = None

    @field_validator("convert")
    @classmethod
    def _known_conversions(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {f: c for f, c in v.items() if c not in CONVERSIONS}
        if bad:
            raise ValueError(
                f"unknown conversion(s) {bad}; known: {', '.join(sorted(CONVERSIONS))}"
            )
        return v

    def to_resource(self) -> Resource:
        return Resource(
            path=self.resource,
            key=self.key,
            changed_field=self.changed_field,
            reconcile=self.reconcile,
            reference_field=self.reference_field,
            create_only=self.create_only,
            options=dict(self.options),
        )


class ProviderMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    entities: dict[EntityType, dict[Direction, EntityMapping]]

    def get(self, entity: EntityType, direction: Direction) -> EntityMapping | None:
        return self.entities.get(entity, {}).get(direction)

    def resources(self) -> dict[EntityType, dict[Direction, Resource]]:
        return {
            entity: {d: m.to_resource() for d, m in by_dir.items()}
            for entity, by_dir in self.entities.items()
        }


def parse_mapping(data: Any, *, source: str) -> ProviderMapping:
    """Validate a mapping document; raises ``MappingError`` naming ``source`` and the field."""
    try:
        mapping = ProviderMapping.model_validate(data)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(f"mapping file {source} is invalid: {problems}") from exc
    for entity, by_dir in mapping.entities.items():
        known = CANONICAL_FIELDS[entity]
        for direction, m in by_dir.items():
            where = f"mapping file {source}, {entity.value} {direction.value}"
            for section in ("fields", "values", "convert", "defaults"):
                for name in getattr(m, section):
                    if name not in known:
                        raise MappingError(
                            f"{where}: {section}.{name} is not a canonical field of "
                            f"{entity.value} (known: {', '.join(known)})"
                        )
            if m.reconcile is Reconcile.reference and not m.reference_field:
                raise MappingError(f"{where}: reconcile 'reference' needs reference_field")
            _check_required(m, entity, direction, where)
            _check_status_actions(m, where)
    return mapping


def reference_fields(entity: EntityType) -> tuple[str, ...]:
    """The canonical fields of ``entity`` naming another record (``machine_id`` on downtime)."""
    own = f"{entity.value}_id"
    return tuple(f for f in CANONICAL_FIELDS[entity] if f.endswith("_id") and f != own)


def _check_required(m: EntityMapping, entity: EntityType, direction: Direction, where: str) -> None:
    if (m.required or m.pulled_references) and direction is not Direction.outbound:
        raise MappingError(f"{where}: required/pulled_references apply to outbound mappings only")
    for section in ("required", "pulled_references"):
        for name in getattr(m, section):
            if name not in CANONICAL_FIELDS[entity]:
                raise MappingError(
                    f"{where}: {section}: {name} is not a canonical field of {entity.value}"
                )
            if name not in m.fields:
                raise MappingError(f"{where}: {section}: {name} is not mapped in fields")
    refs = reference_fields(entity)
    for name in m.pulled_references:
        if name not in refs:
            raise MappingError(
                f"{where}: pulled_references: {name} is not a reference "
                f"(references of {entity.value}: {', '.join(refs)})"
            )


def _check_status_actions(m: EntityMapping, where: str) -> None:
    """``options.status_actions`` is a valid life cycle covering every mapped status value."""
    try:
        lifecycle = StatusLifecycle.from_options(m.options)
    except PydanticValidationError as exc:
        problems = "; ".join(
            ".".join(["options", OPTION, *(str(p) for p in e["loc"])]) + f": {e['msg']}"
            for e in exc.errors()
        )
        raise MappingError(f"{where}: {problems}") from exc
    if lifecycle is None:
        return
    canonical = [name for name, erp in m.fields.items() if erp == lifecycle.field]
    if not canonical:
        raise MappingError(
            f"{where}: options.{OPTION}.field {lifecycle.field} is not an ERP field of fields"
        )
    for name in canonical:
        for value, erp in m.values.get(name, {}).items():
            if str(erp) not in lifecycle.statuses():
                raise MappingError(
                    f"{where}: values.{name}.{value}: {erp} is not a status of "
                    f"options.{OPTION} (known: {', '.join(lifecycle.statuses())})"
                )


@cache
def load_default_mapping(provider: str) -> ProviderMapping:
    """The mapping shipped for ``provider`` (``plantsync/mappings/<provider>.yaml``)."""
    name = f"{provider}.yaml"
    try:
        text = importlib_resources.files("plantsync.mappings").joinpath(name).read_text("utf-8")
    except FileNotFoundError:
        raise MappingError(f"no default mapping file {name} for provider {provider!r}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"mapping file {name} is not valid YAML: {exc}") from exc
    return parse_mapping(data, source=name)
