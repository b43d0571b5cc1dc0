"""The mapping engine: a provider's default mapping plus a connection's overrides, applied to
records in both directions.

- ``apply_overrides(mapping, field_mappings)``: a connection's ``field_mappings`` on top of the
  default file. ``field`` applies to every entity that has that canonical field,
  ``entity.field`` to one entity, ``entity.@resource`` replaces the ERP resource (for ECC
  custom services). Overriding an entity's own key field (``work_order_id -> AUFNR``) also
  makes that ERP field the resource key. ``entity.field.VALUE`` sets one entry of the field's
  value map (the plant's reason code ``VALUE`` -> the ERP's code).
- ``to_erp(m, record, ctx)``: canonical record -> ERP fields (value maps, conversions,
  constants) for a push.
- ``from_erp(m, fields, ctx)``: ERP fields -> canonical record (reverse value maps,
  conversions, defaults) for an inbound upsert.

Problems with one record raise ``RecordMappingError`` naming the field; the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plantsync.entities import Direction, EntityType
from plantsync.errors import RecordError
from plantsync.mappings.canonical import CANONICAL_FIELDS, entity_key_field
from plantsync.mappings.convert import Context, ConversionError, converters
from plantsync.mappings.schema import EntityMapping, MappingError, ProviderMapping

RESOURCE_SUFFIX = "@resource"


class RecordMappingError(RecordError):
    """One record could not be mapped; the message names the canonical field."""

    code = "mapping_error"


def apply_overrides(mapping: ProviderMapping, field_mappings: Mapping[str, str]) -> ProviderMapping:
    """The provider mapping with a connection's ``field_mappings`` applied (validated keys).

    Raises:
        MappingError: a key that is not a canonical field, ``entity.field`` or
            ``entity.@resource``, or an empty value.
    """
    entities = {e: dict(by_dir) for e, by_dir in mapping.entities.items()}
    for key, value in field_mappings.items():
        if not isinstance(value, str) or not value.strip():
            raise MappingError(f"field_mappings.{key}: the ERP name must be a non-empty string")
        value_key = _value_key(key)
        for entity, field in _targets(key):
            by_dir = entities.get(entity, {})
            if value_key is not None:
                _override_value(by_dir, mapping.provider, entity, field, value_key, value.strip())
                continue
            for direction, m in list(by_dir.items()):
                by_dir[direction] = _override(m, entity, field, value.strip())
    return ProviderMapping(provider=mapping.provider, entities=entities)


def _value_key(key: str) -> str | None:
    """The plant value of an ``entity.field.VALUE`` key, else None."""
    parts = key.split(".", 2)
    return parts[2] if len(parts) == 3 and parts[2] else None


def _override_value(
    by_dir: dict[Direction, EntityMapping],
    provider: str,
    entity: EntityType,
    field: str,
    plant: str,
    erp: str,
) -> None:
    """Sets ``plant -> erp`` in the value map of ``field`` in every direction that has one."""
    found = False
    for direction, m in list(by_dir.items()):
        table = m.values.get(field)
        if table is not None:
            found = True
            by_dir[direction] = m.model_copy(
                update={"values": {**m.values, field: {**table, plant: erp}}}
            )
    if not found:
        raise MappingError(
            f"field_mappings.{entity.value}.{field}.{plant}: the {provider} mapping has no "
            f"value map for {entity.value}.{field}, so there is no value to override"
        )


def _targets(key: str) -> list[tuple[EntityType, str]]:
    if "." in key:
        entity_name, field = key.split(".", 1)
        name, dot, plant_value = field.partition(".")
        if dot and plant_value:
            field = name  # entity.field.VALUE: checked here, applied by _override
        try:
            entity = EntityType(entity_name)
        except ValueError:
            raise MappingError(
                f"field_mappings.{key}: unknown entity {entity_name!r} "
                f"(known: {', '.join(e.value for e in EntityType)})"
            ) from None
        if field != RESOURCE_SUFFIX and field not in CANONICAL_FIELDS[entity]:
            raise MappingError(
                f"field_mappings.{key}: {field!r} is not a canonical field of {entity.value}"
            )
        return [(entity, field)]
    targets = [(e, key) for e, fields in CANONICAL_FIELDS.items() if key in fields]
    if not targets:
        raise MappingError(f"field_mappings.{key}: not a canonical field of any entity")
    return targets


def _override(m: EntityMapping, entity: EntityType, field: str, value: str) -> EntityMapping:
    if field == RESOURCE_SUFFIX:
        return m.model_copy(update={"resource": value})
    update: dict[str, Any] = {"fields": {**m.fields, field: value}}
    old = m.fields.get(field)
    if field == entity_key_field(entity) and len(m.key) == 1 and m.key[0] == old:
        update["key"] = (value,)
    return m.model_copy(update=update)


def to_erp(
    m: EntityMapping,
    record: Mapping[str, Any],
    ctx: Context,
    *,
    entity: EntityType | None = None,
) -> dict[str, Any]:
    """The ERP fields to send for a canonical ``record`` (fields absent from it are not sent);
    ``entity`` names the entity in messages."""
    out: dict[str, Any] = dict(m.constants)
    for canonical, erp_field in m.fields.items():
        if canonical not in record:
            continue
        value = record[canonical]
        if value is not None:
            value = _map_value(m, canonical, value, outbound=True, entity=entity)
            value = _convert(m, canonical, value, ctx, outbound=True)
        out[erp_field] = value
    return out


def from_erp(m: EntityMapping, fields: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The canonical record for ERP ``fields`` (mapped fields only; defaults fill gaps)."""
    out: dict[str, Any] = {}
    for canonical, erp_field in m.fields.items():
        if erp_field not in fields:
            continue
        value = fields[erp_field]
        if value is not None:
            value = _convert(m, canonical, value, ctx, outbound=False)
            value = _map_value(m, canonical, value, outbound=False)
        out[canonical] = value
    for canonical, default in m.defaults.items():
        if out.get(canonical) is None:
            out[canonical] = default
    return out


def _map_value(
    m: EntityMapping, field: str, value: Any, *, outbound: bool, entity: EntityType | None = None
) -> Any:
    table = m.values.get(field)
    if not table:
        return value
    if outbound:
        if str(value) in table:
            return table[str(value)]
        raise RecordMappingError(
            f"{field}={value!r} has no ERP value in the mapping (known: {', '.join(table)}); "
            f"give it one in the connection's field_mappings: "
            f"'{entity.value if entity else '<entity>'}.{field}.{value}': '<ERP value>'"
        )
    for canonical, erp_value in table.items():
        if erp_value == value or str(erp_value) == str(value):
            return canonical
    raise RecordMappingError(
        f"{field}: the ERP value {value!r} is not in the mapping's value map "
        f"(known: {', '.join(str(v) for v in table.values())})"
    )


def _convert(m: EntityMapping, field: str, value: Any, ctx: Context, *, outbound: bool) -> Any:
    name = m.convert.get(field)
    if name is None:
        return value
    out, into = converters(name, field)
    try:
        return out(value, ctx) if outbound else into(value, ctx)
    except ConversionError as exc:
        raise RecordMappingError(f"{field}: {exc}") from exc


def entity_mapping(
    mapping: ProviderMapping, entity: EntityType, direction: Direction
) -> EntityMapping:
    """The mapping of one entity and direction, or a ``MappingError`` saying none exists."""
    m = mapping.get(entity, direction)
    if m is None:
        raise MappingError(
            f"the {mapping.provider} mapping has no {direction.value} {entity.value}"
        )
    return m
