"""The SAP sandbox's entity sets as the real ``$metadata`` describes them: the services it serves,
one ``Table`` of rows per entity set, and writes checked against the metadata with SAP-style
messages (``SapError``): unknown or read-only properties, values of the wrong type, strings
over ``MaxLength``, decimals with too many digits, missing mandatory properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from plantsync.connectors.sap.metadata import EntitySet, Property, ServiceModel, parse_metadata
from plantsync.connectors.sap.values import SapValueError, format_json_value, parse_json_value
from plantsync.sandbox.table import Row, Rows

SERVICES = (
    "API_EQUIPMENT",
    "API_MAINTENANCEORDER",
    "API_MAINTNOTIFICATION",
    "API_PRODUCTION_ORDER_2_SRV",
    "API_PROD_ORDER_CONFIRMATION_2_SRV",
    "API_FUNCTIONALLOCATION",
)
# sandbox entity -> (service, entity set)
ENTITY_SETS: Mapping[str, tuple[str, str]] = {
    "machine": ("API_EQUIPMENT", "Equipment"),
    "work_order": ("API_MAINTENANCEORDER", "MaintenanceOrder"),
    "downtime": ("API_MAINTNOTIFICATION", "MaintenanceNotification"),
    "production_data": ("API_PROD_ORDER_CONFIRMATION_2_SRV", "ProdnOrdConf2"),
}


class SapError(Exception):
    """An SAP-style refusal: HTTP status, message code and text."""

    def __init__(self, status: int, message: str, code: str = "SY/530") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class SapRow(Row):
    """A stored SAP row: only the properties with a value are kept (an entity type has about
    a hundred properties, a generated row a dozen values); a property without one reads as
    None, as ``row[name]`` or ``row.get(name)``. ``properties`` is the entity type's."""

    __slots__ = ()
    properties: frozenset[str] = frozenset()

    def __missing__(self, name: str) -> Any:
        if name in self.properties:
            return None
        raise KeyError(name)


@dataclass
class Table:
    es: EntitySet
    rows: Rows[tuple[Any, ...]]

    @classmethod
    def of(cls, es: EntitySet) -> Table:
        """An empty table of ``es``, whose rows read absent properties as None."""
        row_type = type(
            f"{es.name}Row", (SapRow,), {"__slots__": (), "properties": frozenset(es.properties)}
        )
        return cls(es, Rows(row_type=row_type))

    def values_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The properties of ``row`` that have a value (what a stored row keeps)."""
        props = self.es.properties
        return {p: v for p, v in row.items() if v is not None and p in props}

    def full(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` with every property of the entity type, in the type's order."""
        return {p: row.get(p) for p in self.es.properties}

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(k) for k in self.es.key)


def load_models() -> dict[str, tuple[bytes, ServiceModel]]:
    """Each service's ``$metadata`` document (the real one) and its parsed model."""
    folder = resources.files("plantsync.sandbox.sap").joinpath("metadata")
    out = {}
    for service in SERVICES:
        xml = folder.joinpath(f"{service}.edmx").read_bytes()
        out[service] = (xml, parse_metadata(xml, service=service))
    return out


def check_body(es: EntitySet, body: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    """Typed values of a write body, or ``SapError`` for what a Gateway would refuse."""
    if not isinstance(body, Mapping):
        raise SapError(400, "The request body is not a JSON object", "/IWBEP/CM_MGW_RT/003")
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if name == "__metadata":
            continue
        prop = es.properties.get(name)
        if prop is None:
            raise SapError(400, f"Property '{name}' is invalid", "/IWBEP/CM_MGW_RT/004")
        allowed = prop.creatable if create else prop.updatable
        if not allowed and not (not create and name in es.key and raw is not None):
            raise SapError(400, f"Property '{name}' is read-only", "/IWBEP/CM_MGW_RT/025")
        values[name] = _typed(prop, raw)
    if create:
        for prop in es.properties.values():
            if prop.nullable or not prop.creatable or prop.name in es.key:
                continue
            if values.get(prop.name) in (None, ""):
                raise SapError(400, f"Property '{prop.name}' is mandatory", "/IWBEP/CM_MGW_RT/026")
    return values


_JSON_KINDS: Mapping[str, tuple[type, ...]] = {
    "Edm.String": (str,),
    "Edm.Boolean": (bool,),
    "Edm.Decimal": (str,),
    "Edm.Int64": (str,),
    "Edm.Guid": (str,),
    "Edm.DateTime": (str,),
    "Edm.DateTimeOffset": (str,),
    "Edm.Time": (str,),
    "Edm.Double": (str, int, float),
    "Edm.Int32": (int,),
    "Edm.Int16": (int,),
    "Edm.Byte": (int,),
}


def _typed(prop: Property, raw: Any) -> Any:
    if raw is None:
        if not prop.nullable:
            raise SapError(400, f"Property '{prop.name}' must not be null", "/IWBEP/CM_MGW_RT/026")
        return None
    kinds = _JSON_KINDS.get(prop.edm_type)
    if kinds and (not isinstance(raw, kinds) or (bool not in kinds and isinstance(raw, bool))):
        raise SapError(400, f"Property '{prop.name}' has an invalid value for {prop.edm_type}")
    try:
        value = parse_json_value(prop.edm_type, raw)
        format_json_value(
            prop.edm_type,
            value,
            max_length=prop.max_length,
            precision=prop.precision,
            scale=prop.scale,
        )
    except SapValueError as exc:
        raise SapError(400, f"Property '{prop.name}': {exc}", "/IWBEP/CM_MGW_RT/005") from None
    return value
