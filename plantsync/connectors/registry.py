"""Connector providers by name, from the entry-point group ``plantsync.connectors``.

The built-in providers (sap, dynamics, oracle) are declared in PlantSync's own package
metadata exactly like a third-party plug-in would declare its own::

    [project.entry-points."plantsync.connectors"]
    acme = "acme_plantsync.connector:AcmeConnector"

Entry points are read once and loaded lazily: a provider's module is imported the first time
the provider is asked for, and the loaded class is checked (a ``Connector`` subclass, not
abstract, declaring ``provider``, ``display_name``, ``auth_model`` and ``supports``).
"""

from __future__ import annotations

import enum
import inspect
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import httpx
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from plantsync.connectors.base import Connector, ConnectorConfig
from plantsync.entities import EntitySupport
from plantsync.errors import ConfigurationError, ValidationError

GROUP = "plantsync.connectors"

_loaded: dict[str, type[Connector]] = {}
_lock = threading.Lock()


@cache
def _entry_points() -> Mapping[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)  # first on sys.path wins, as for console scripts
    return found


def refresh() -> None:
    """Forget what was discovered and loaded (after installing a plug-in at run time)."""
    with _lock:
        _entry_points.cache_clear()
        _loaded.clear()


def available_providers() -> list[str]:
    """The provider names installed (built-in and plug-ins), sorted; nothing is imported."""
    return sorted(_entry_points())


def get_connector_class(name: str) -> type[Connector]:
    """The connector class of provider ``name``, loaded and checked on first use.

    Raises:
        ValidationError: (field ``provider``) no such provider; the message lists the known ones.
        ConfigurationError: the provider's plug-in fails to import or is not a valid connector.
    """
    with _lock:
        if name in _loaded:
            return _loaded[name]
        ep = _entry_points().get(name)
        if ep is None:
            known = ", ".join(available_providers()) or "none installed"
            raise ValidationError.single("provider", f"unknown provider {name!r}; known: {known}")
        cls = _check(name, ep, _load(name, ep))
        _loaded[name] = cls
        return cls


def _load(name: str, ep: EntryPoint) -> object:
    try:
        return ep.load()
    except Exception as exc:  # any import-time failure of a plug-in is a configuration problem
        raise ConfigurationError(
            f"connector provider {name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc


def _check(name: str, ep: EntryPoint, obj: object) -> type[Connector]:
    def bad(why: str) -> ConfigurationError:
        return ConfigurationError(f"connector provider {name!r} ({ep.value}) {why}")

    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        raise bad("is not a subclass of plantsync.connectors.base.Connector")
    if inspect.isabstract(obj):
        raise bad("leaves abstract methods unimplemented")
    missing = [
        a for a in ("provider", "display_name", "auth_model", "supports") if not hasattr(obj, a)
    ]
    if missing:
        raise bad(f"does not declare {', '.join(missing)}")
    if obj.provider != name:
        raise bad(f"declares provider = {obj.provider!r}, not {name!r}")
    if not (isinstance(obj.auth_model, type) and issubclass(obj.auth_model, BaseModel)):
        raise bad("auth_model is not a pydantic model")
    if not obj.supports or not all(isinstance(s, EntitySupport) for s in obj.supports):
        raise bad("supports must be a non-empty set of EntitySupport")
    return obj


def parse_auth(provider: str, data: Mapping[str, Any]) -> BaseModel:
    """Validate an ``auth_config`` against the provider's ``auth_model``.

    Raises:
        ValidationError: fields named ``auth_config.<field>`` (values never echoed).
    """
    model = get_connector_class(provider).auth_model
    try:
        return model.model_validate(dict(data))
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for e in exc.errors(include_input=False, include_url=False):
            field = ".".join(["auth_config", *(str(p) for p in e["loc"])])
            errors.setdefault(field, []).append(e["msg"])
        raise ValidationError(errors) from None


def build_connector(config: ConnectorConfig, *, client: httpx.Client | None = None) -> Connector:
    """A connector for ``config`` (its provider's class; ``client`` for tests)."""
    cls = get_connector_class(config.provider)
    if not isinstance(config.auth, cls.auth_model):
        raise ValidationError.single(
            "auth_config", f"is a {type(config.auth).__name__}, expected {cls.auth_model.__name__}"
        )
    return cls(config, client=client)


@dataclass(frozen=True)
class AuthField:
    name: str
    type: str
    required: bool
    secret: bool
    description: str | None


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    display_name: str
    supports: tuple[EntitySupport, ...]
    auth_fields: tuple[AuthField, ...]


def describe(name: str) -> ProviderInfo:
    """What provider ``name`` offers: entities and directions, and its auth_config fields."""
    cls = get_connector_class(name)
    return ProviderInfo(
        name=name,
        display_name=cls.display_name,
        supports=tuple(sorted(cls.supports)),
        auth_fields=tuple(_auth_fields(cls.auth_model)),
    )


def _auth_fields(model: type[BaseModel]) -> list[AuthField]:
    """The fields of an auth model; a field is secret when its type is ``SecretStr`` (the
    model's own declaration, never a guess from the name: ``token_url`` is not a secret)."""
    out = []
    for fname, f in model.model_fields.items():
        kinds = _kinds(f.annotation)
        secret = SecretStr in kinds
        optional = type(None) in kinds
        text = ", ".join(
            [_kind_name(k) for k in kinds if k is not type(None)]
            + (["optional"] if optional else [])
        )
        out.append(AuthField(fname, text, f.is_required(), secret, f.description))
    return out


def _kinds(annotation: Any) -> tuple[Any, ...]:
    """The members of a union annotation (``str | None`` -> ``(str, NoneType)``), or itself."""
    if get_origin(annotation) in (Union, UnionType):
        return get_args(annotation)
    return (annotation,)


_KIND_NAMES: Mapping[Any, str] = {
    SecretStr: "secret",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
}


def _kind_name(kind: Any) -> str:
    """A readable type name for people (``SecretStr`` -> ``secret``, ``Literal`` -> choices)."""
    if kind in _KIND_NAMES:
        return _KIND_NAMES[kind]
    if get_origin(kind) is Literal:
        return "one of " + "/".join(str(a) for a in get_args(kind))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "one of " + "/".join(str(m.value) for m in kind)
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")
