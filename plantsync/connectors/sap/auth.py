"""SAP Gateway credentials: basic auth and the logon client (``sap-client``) on every request.

``SapAuth`` is the connection's ``httpx.Auth``: it adds the ``Authorization`` header and, when
the connection names a client, the ``sap-client`` query parameter (kept when a URL already
carries one, as a ``__next`` link does).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SapAuthConfig(BaseModel):
    """Credentials of a SAP connection (basic auth; ``sap_client`` is the 3-digit client)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=40)
    password: SecretStr = Field(min_length=1)
    sap_client: str | None = Field(default=None, pattern=r"^\d{3}$")


class SapAuth(httpx.Auth):
    """Basic credentials and ``sap-client`` for every request of a SAP connection."""

    def __init__(self, config: SapAuthConfig) -> None:
        self._basic = httpx.BasicAuth(config.username, config.password.get_secret_value())
        self.sap_client = config.sap_client

    def __repr__(self) -> str:
        return f"SapAuth(sap_client={self.sap_client!r})"  # never the credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.sap_client and "sap-client" not in request.url.params:
            request.url = request.url.copy_merge_params({"sap-client": self.sap_client})
        yield from self._basic.auth_flow(request)
