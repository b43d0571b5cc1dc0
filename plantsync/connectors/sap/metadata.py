"""A service's ``$metadata``, parsed once by pyodata into the small model we use.

pyodata is the metadata model: it reads EDMX with SAP annotations (``sap:creatable``,
``sap:updatable``, ``MaxLength`` ...). We use only its parser, not its HTTP or value
handling (see ``client.py`` and ``values.py``). Two of its habits are handled here:

- it logs a warning for every vocabulary annotation it does not know (dozens per S/4HANA
  document). Those are collected while *our* parse runs (a filter on pyodata's own logger,
  removed afterwards) and summarised in one debug line; other warnings pass through.
- each parse appends to module-level lists in pyodata, so a document is parsed once per
  content (cached by its SHA-256) and not once per request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pyodata.exceptions import PyODataException
from pyodata.v2.model import Config, MetadataBuilder

from plantsync.errors import ERPConfigurationError

log = logging.getLogger(__name__)
_PYODATA_LOGGER = "pyodata.model"
_cache: dict[str, ServiceModel] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Property:
    """One property of an entity type, with the facets writes are checked against."""

    name: str
    edm_type: str
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True


@dataclass(frozen=True)
class EntitySet:
    name: str
    type_name: str
    key: tuple[str, ...]
    properties: Mapping[str, Property]
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    navigations: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionImport:
    name: str
    http_method: str
    parameters: Mapping[str, Property]
    return_entity_set: str | None = None


@dataclass(frozen=True)
class ServiceModel:
    """What one service's metadata says: entity sets and function imports by name."""

    entity_sets: Mapping[str, EntitySet]
    function_imports: Mapping[str, FunctionImport] = field(default_factory=dict)

    def entity_set(self, name: str) -> EntitySet | None:
        return self.entity_sets.get(name)


class _AnnotationNoise(logging.Filter):
    """Swallows pyodata's 'Unsupported Annotation' warnings, counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(("Unsupported Annotation", "Ignoring qualified Annotations")):
            self.count += 1
            return False
        return True


@contextmanager
def _quiet_annotations() -> Iterator[_AnnotationNoise]:
    noise = _AnnotationNoise()
    logger = logging.getLogger(_PYODATA_LOGGER)
    logger.addFilter(noise)
    try:
        yield noise
    finally:
        logger.removeFilter(noise)


def parse_metadata(xml: bytes, *, service: str) -> ServiceModel:
    """The model of a ``$metadata`` document (cached by content).

    Raises:
        ERPConfigurationError: the document is not OData V2 metadata pyodata can read.
    """
    digest = hashlib.sha256(xml).hexdigest()
    with _lock:
        cached = _cache.get(digest)
        if cached is not None:
            return cached
        with _quiet_annotations() as noise:
            try:
                schema = MetadataBuilder(xml, config=Config(retain_null=True)).build()
            except (PyODataException, KeyError, AttributeError, TypeError, ValueError) as exc:
                raise ERPConfigurationError(
                    f"the $metadata of {service} could not be read: {exc}", provider="sap"
                ) from exc
        log.debug("parsed $metadata of %s (%d unsupported annotations)", service, noise.count)
        model = _model(schema)
        _cache[digest] = model
        return model


def _model(schema: Any) -> ServiceModel:
    sets = {es.name: _entity_set(es) for es in schema.entity_sets}
    functions = {fi.name: _function(fi) for fi in schema.function_imports}
    return ServiceModel(entity_sets=sets, function_imports=functions)


def _entity_set(es: Any) -> EntitySet:
    etype = es.entity_type
    return EntitySet(
        name=es.name,
        type_name=etype.name,
        key=tuple(p.name for p in etype.key_proprties),
        properties={p.name: _property(p) for p in etype.proprties()},
        creatable=bool(es.creatable),
        updatable=bool(es.updatable),
        deletable=bool(es.deletable),
        navigations=tuple(n.name for n in etype.nav_proprties),
    )


def _property(p: Any) -> Property:
    return Property(
        name=p.name,
        edm_type=p.typ.name,
        nullable=bool(p.nullable),
        max_length=p.max_length or None,
        precision=p.precision or None,
        scale=p.scale if p.precision else None,
        creatable=bool(getattr(p, "creatable", True)),
        updatable=bool(getattr(p, "updatable", True)),
        filterable=bool(getattr(p, "filterable", True)),
    )


def _function(fi: Any) -> FunctionImport:
    entity_set = getattr(fi, "entity_set_name", None)
    return FunctionImport(
        name=fi.name,
        http_method=str(fi.http_method or "GET").upper(),
        parameters={p.name: _property(p) for p in fi.parameters},
        return_entity_set=entity_set,
    )
