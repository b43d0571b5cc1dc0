"""A connection's ``field_mappings``: validation when it is saved, and the resources it selects.

Keys (see ``canonical.py``):

- ``field``: a canonical field; applies to every entity that has it (``machine_id``).
- ``entity.field``: a canonical field of one entity (``work_order.description``).
- ``entity.@resource``: the ERP service / entity set / resource of that entity, for every
  direction of the provider's mapping (``work_order.@resource: ZPM_ORDERS_SRV/Orders``).
- ``entity.field.VALUE``: one entry of a field's value map — the plant's value ``VALUE`` is
  sent as (and read back from) this ERP value (``downtime.reason_code.BREAKDOWN: "0020"``);
  only for fields the provider's mapping has a value map for.

Values are non-empty ERP names. Problems are a ``ValidationError`` on ``field_mappings.<key>``
that lists the valid keys, raised when the connection is created or updated — not mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources as importlib_resources
from typing import Any

from plantsync.connectors.base import Resource
from plantsync.entities import Direction, EntityType
from plantsync.errors import ValidationError
from plantsync.mappings.canonical import CANONICAL_FIELDS
from plantsync.mappings.schema import load_default_mapping

RESOURCE_KEY = "@resource"
MAX_VALUE_LENGTH = 200


def valid_keys() -> list[str]:
    """Every accepted ``field_mappings`` key: bare fields, then ``entity.field``/``@resource``."""
    bare = sorted({f for fields in CANONICAL_FIELDS.values() for f in fields})
    scoped = [
        f"{entity.value}.{name}"
        for entity in EntityType
        for name in (*CANONICAL_FIELDS[entity], RESOURCE_KEY)
    ]
    return bare + scoped


def describe_fields() -> list[dict[str, str]]:
    """The canonical fields per entity with their descriptions (``mappings fields``)."""
    return [
        {"entity_type": entity.value, "field": name, "description": text}
        for entity in EntityType
        for name, text in CANONICAL_FIELDS[entity].items()
    ]


def _key_problem(key: str) -> str | None:
    entity_name, dot, field = key.partition(".")
    if not dot:
        if any(key in fields for fields in CANONICAL_FIELDS.values()):
            return None
        return "not a canonical field"
    try:
        entity = EntityType(entity_name)
    except ValueError:
        return f"unknown entity {entity_name!r}"
    if field == RESOURCE_KEY or field in CANONICAL_FIELDS[entity]:
        return None
    name, dot, value = field.partition(".")
    if dot and name in CANONICAL_FIELDS[entity]:
        return None if value.strip() else "the plant value after the field name is empty"
    return f"{field!r} is not a canonical field of {entity.value}"


def validate_field_mappings(value: Any, *, provider: str | None = None) -> dict[str, str]:
    """The checked, trimmed mapping overrides; with ``provider``, also checked against that
    provider's default mapping (a value-map entry needs a field that has a value map).

    Raises:
        ValidationError: naming ``field_mappings.<key>`` for each bad key or value; unknown
            keys are told the list of valid ones.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError.single("field_mappings", "must be an object of key: ERP name")
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    unknown = False
    for key, erp_name in value.items():
        where = f"field_mappings.{key}"
        problem = _key_problem(str(key))
        if problem:
            errors[where] = [problem]
            unknown = True
            continue
        if not isinstance(erp_name, str) or not erp_name.strip():
            errors[where] = ["the ERP name must be a non-empty string"]
        elif len(erp_name.strip()) > MAX_VALUE_LENGTH:
            errors[where] = [f"the ERP name is longer than {MAX_VALUE_LENGTH} characters"]
        else:
            clean[str(key)] = erp_name.strip()
    if errors:
        message = "Invalid field_mappings: " + ", ".join(sorted(errors))
        if unknown:
            message += ". Valid keys: " + ", ".join(valid_keys())
        raise ValidationError(errors, message)
    if provider is not None and has_default_mapping(provider):
        _check_against_default(provider, clean)
    return clean


def _check_against_default(provider: str, clean: Mapping[str, str]) -> None:
    from plantsync.mappings.engine import apply_overrides
    from plantsync.mappings.schema import MappingError

    for key, erp_name in clean.items():
        try:
            apply_overrides(load_default_mapping(provider), {key: erp_name})
        except MappingError as exc:
            raise ValidationError.single(f"field_mappings.{key}", exc.message) from exc


def has_default_mapping(provider: str) -> bool:
    """Whether ``plantsync/mappings/<provider>.yaml`` ships with the product."""
    return importlib_resources.files("plantsync.mappings").joinpath(f"{provider}.yaml").is_file()


def effective_resources(
    provider: str, field_mappings: Mapping[str, str]
) -> dict[EntityType, dict[Direction, Resource]]:
    """The provider's default resources with the connection's ``entity.@resource`` overrides.

    A provider without a default mapping file (a plug-in that brings its own resources) gets
    only what its overrides can say: nothing, since a resource also needs its key.

    Raises:
        MappingError: the provider's default mapping file is invalid.
    """
    if not has_default_mapping(provider):
        return {}
    # One source of truth with the sync engine: the same overrides, so a key override
    # (``work_order_id: AUFNR``) also changes the resource key the connector addresses.
    from plantsync.mappings.engine import apply_overrides

    return apply_overrides(load_default_mapping(provider), field_mappings).resources()
