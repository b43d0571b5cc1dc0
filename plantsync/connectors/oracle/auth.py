"""The credentials and protocol settings of an Oracle connection (``auth_config``)."""

from __future__ import annotations

from typing import Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from plantsync.connectors.auth import OAuth2ClientCredentials
from plantsync.connectors.oracle.codec import (
    DEFAULT_API_VERSION,
    DEFAULT_FRAMEWORK_VERSION,
    PROVIDER,
)

_BASIC = ("username", "password")
_OAUTH = ("token_url", "client_id", "client_secret", "scope")


class OracleAuthConfig(BaseModel):
    """An Oracle connection's credentials and protocol settings.

    Exactly one of: basic auth (``username``, ``password``) or OAuth2 client credentials
    (``token_url``, ``client_id``, ``client_secret``, ``scope``; e.g. an IDCS/IAM token URL
    ``https://idcs-xxxx.identity.oraclecloud.com/oauth2/v1/token``).

    ``rest_framework_version`` (1-9, default 4) sets ``REST-Framework-Version`` and the
    ``q`` syntax; ``api_version`` the resource version in the path.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    rest_framework_version: int = Field(default=DEFAULT_FRAMEWORK_VERSION, ge=1, le=9)
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^\d+(\.\d+)*$")

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        basic = [f for f in _BASIC if getattr(self, f)]
        oauth = [f for f in _OAUTH if getattr(self, f)]
        if basic and oauth:
            raise ValueError(
                "give either basic auth (username, password) or OAuth2 client credentials "
                "(token_url, client_id, client_secret, scope), not both"
            )
        if not basic and not oauth:
            raise ValueError(
                "missing credentials: give username and password (basic auth), or token_url, "
                "client_id, client_secret and scope (OAuth2 client credentials)"
            )
        shape, given, name = (_BASIC, basic, "basic auth") if basic else (_OAUTH, oauth, "OAuth2")
        missing = [f for f in shape if f not in given]
        if missing:
            raise ValueError(f"{name} also needs: {', '.join(missing)}")
        if self.token_url and not self.token_url.startswith(("https://", "http://")):
            raise ValueError("token_url must be an http(s) URL")
        return self

    @property
    def uses_oauth(self) -> bool:
        return self.token_url is not None

    def http_auth(self) -> httpx.Auth:
        if self.uses_oauth:
            assert self.token_url and self.client_id and self.client_secret
            return OAuth2ClientCredentials(
                token_url=self.token_url,
                client_id=self.client_id,
                client_secret=self.client_secret.get_secret_value(),
                scope=self.scope,
                provider=PROVIDER,
            )
        assert self.username and self.password
        return httpx.BasicAuth(self.username, self.password.get_secret_value())
