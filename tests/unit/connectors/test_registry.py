"""The connector registry: built-ins by entry point, class checks, unknown names."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel, SecretStr

from plantsync.connectors import registry
from plantsync.connectors.base import Connector
from plantsync.entities import Direction, EntitySupport, EntityType
from plantsync.errors import ConfigurationError, ValidationError

BUILT_INS = ("sap", "dynamics", "oracle")


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    registry.refresh()
    yield
    registry.refresh()


def test_built_ins_are_registered() -> None:
    assert set(BUILT_INS) <= set(registry.available_providers())


@pytest.mark.parametrize("name", BUILT_INS)
def test_built_in_loads_and_declares_itself(name: str) -> None:
    cls = registry.get_connector_class(name)
    assert issubclass(cls, Connector) and cls.provider == name
    info = registry.describe(name)
    assert info.display_name and info.supports and info.auth_fields
    assert registry.get_connector_class(name) is cls  # loaded once


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as info:
        registry.get_connector_class("navision")
    assert "provider" in info.value.errors
    message = info.value.errors["provider"][0]
    assert "'navision'" in message
    for name in BUILT_INS:
        assert name in message


class GoodAuth(BaseModel):
    user: str
    password: SecretStr
    client: str | None = None


class Good(Connector):
    provider = "good"
    display_name = "Good ERP"
    auth_model = GoodAuth
    supports = frozenset({EntitySupport(EntityType.machine, Direction.inbound)})

    def test(self):  # type: ignore[no-untyped-def]
        raise AssertionError

    def pull(self, entity, *, since=None):  # type: ignore[no-untyped-def]
        raise AssertionError

    def push(self, entity, records):  # type: ignore[no-untyped-def]
        raise AssertionError

    def find(self, entity, reference):  # type: ignore[no-untyped-def]
        raise AssertionError


class Abstract(Connector):
    provider = "abstract"
    display_name = "Abstract"
    auth_model = GoodAuth
    supports = Good.supports


class NoSupports(Good):
    provider = "nosupports"
    supports = frozenset()


class WrongName(Good):
    provider = "other"


NOT_A_CONNECTOR = object()


def install(monkeypatch: pytest.MonkeyPatch, name: str, attr: str) -> None:
    ep = EntryPoint(name=name, value=f"{__name__}:{attr}", group=registry.GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {name: ep})


def test_valid_class_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, "good", "Good")
    assert registry.get_connector_class("good") is Good
    fields = {f.name: f for f in registry.describe("good").auth_fields}
    assert fields["password"].secret and fields["password"].required
    assert not fields["user"].secret
    assert not fields["client"].required


@pytest.mark.parametrize(
    ("name", "attr", "why"),
    [
        ("x", "NOT_A_CONNECTOR", "not a subclass"),
        ("abstract", "Abstract", "abstract"),
        ("nosupports", "NoSupports", "supports"),
        ("good", "WrongName", "declares provider = 'other'"),
        ("good", "Missing", "failed to load"),
    ],
)
def test_invalid_plugins_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, attr: str, why: str
) -> None:
    install(monkeypatch, name, attr)
    with pytest.raises(ConfigurationError, match=why):
        registry.get_connector_class(name)


def test_parse_auth_names_fields_without_echoing_values(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, "good", "Good")
    with pytest.raises(ValidationError) as info:
        registry.parse_auth("good", {"user": 5, "password": None})
    assert set(info.value.errors) == {"auth_config.user", "auth_config.password"}
    auth = registry.parse_auth("good", {"user": "u", "password": "s3cret"})
    assert "s3cret" not in repr(auth)


def test_secrecy_comes_from_the_field_type_not_its_name() -> None:
    fields = {f.name: f for f in registry.describe("oracle").auth_fields}
    assert not fields["token_url"].secret  # a URL, even though its name says "token"
    assert fields["client_secret"].secret and fields["password"].secret


def test_field_types_read_like_words() -> None:
    sap = {f.name: f.type for f in registry.describe("sap").auth_fields}
    assert sap == {"username": "string", "password": "secret", "sap_client": "string, optional"}
    oracle = {f.name: f.type for f in registry.describe("oracle").auth_fields}
    assert oracle["password"] == "secret, optional"
    assert oracle["rest_framework_version"] == "integer"
