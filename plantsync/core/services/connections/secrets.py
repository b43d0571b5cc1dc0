"""A connection's ``auth_config``: validated by the provider's ``auth_model``, stored only as a
``SecretBox`` token, decrypted for a run or a test, and kept out of every text we show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel, RootModel
from pydantic import ValidationError as PydanticValidationError

from plantsync.core.config import Settings
from plantsync.core.models.integration import (
    Connection,
)
from plantsync.core.security import secret_box
from plantsync.core.sync import connector_class
from plantsync.errors import ValidationError

_SECRET_WORDS = ("password", "secret", "token", "key")
_MASK = "********"


def _auth_members(model: type[BaseModel]) -> list[type[BaseModel]]:
    if issubclass(model, RootModel):
        root = model.model_fields["root"].annotation
        members = [a for a in get_args(root) if isinstance(a, type) and issubclass(a, BaseModel)]
        return members or [model]
    return [model]


def _auth_key_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for member in _auth_members(model):
        for name, info in member.model_fields.items():
            names.add(info.alias or name)
    return names


def validate_auth_config(provider: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The auth config as stored (keys with a value), checked by the provider's ``auth_model``.

    Raises:
        ValidationError: naming ``auth_config.<key>`` for each unknown, missing or bad key;
            messages never quote a value.
    """
    model = connector_class(provider).auth_model
    known = _auth_key_names(model)
    clean = {str(k): v for k, v in values.items() if v is not None}
    errors: dict[str, list[str]] = {}
    for key in sorted(set(clean) - known):
        errors[f"auth_config.{key}"] = [f"unknown key; {provider} takes {', '.join(sorted(known))}"]
    if not errors:
        try:
            model.model_validate(clean)
        except PydanticValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                keys = [str(p) for p in err["loc"] if str(p) in known]
                where = f"auth_config.{keys[-1]}" if keys else "auth_config"
                errors.setdefault(where, []).append(str(err["msg"]))
    if errors:
        raise ValidationError(errors, "Invalid auth_config: " + ", ".join(sorted(errors)))
    return clean


def decrypt_auth_config(connection: Connection, settings: Settings) -> dict[str, Any]:
    """The stored auth config in clear text: for building a connector only, never to show."""
    data: dict[str, Any] = json.loads(
        secret_box(settings).decrypt(connection.auth_config_encrypted)
    )
    return data


def store_auth_config(
    connection: Connection, values: Mapping[str, Any], settings: Settings
) -> None:
    connection.auth_config_encrypted = secret_box(settings).encrypt(json.dumps(dict(values)))
    connection.auth_config_keys = sorted(values)


def secret_values(auth: Mapping[str, Any]) -> list[str]:
    """The values of secret-looking auth keys (to scrub them from any message we pass on)."""
    return [
        str(v)
        for k, v in auth.items()
        if any(w in k.lower() for w in _SECRET_WORDS) and v is not None and len(str(v)) >= 3
    ]


def scrub_text(text: str, secrets: Sequence[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, _MASK)
    return text
