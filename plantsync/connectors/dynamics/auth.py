"""OAuth2 client credentials for Dataverse, through msal, as an ``httpx.Auth``.

- ``DynamicsAuthConfig``: a connection's credentials (validated where they enter).
- ``MsalHttpClient``: the small requests-like HTTP client msal expects, over *our* httpx client,
  so token requests use the connection's TLS trust and timeouts (a requests-based client would
  silently let ``REQUESTS_CA_BUNDLE`` override ``verify=``) and tests can hand in any transport.
- ``DataverseAuth``: adds ``Authorization: Bearer ...`` to every request. msal keeps the token
  in its cache and renews it five minutes before it expires; a 401 from Dataverse drops the
  cached token and retries once with a fresh one. Token failures become typed errors whose
  message says what to fix (the AADSTS code) and never carries the secret.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plantsync.connectors.translate import translate_transport_error
from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ThrottledError,
    UnavailableError,
)

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
# Hosts msal knows itself: instance discovery stays on for them, off for any other authority.
_MICROSOFT_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
    }
)
_SECRET_CODES = frozenset({7000215, 7000222, 7000216})
_CLIENT_CODES = frozenset({700016, 700024})
_TENANT_CODES = frozenset({90002, 900023})
_SCOPE_CODES = frozenset({500011, 70011, 500014})


class DynamicsAuthConfig(BaseModel):
    """A Dynamics 365 connection's credentials: an Azure AD (Entra ID) app registration.

    Attributes:
        tenant_id: the directory (tenant) id or domain; ``common``/``organizations`` are
            refused (the client-credentials grant needs one tenant).
        client_id: the application (client) id.
        client_secret: the client secret's *value*.
        authority: the token authority; defaults to ``https://login.microsoftonline.com/{tenant}``
            (national clouds, or a local sandbox, give their own; it must be https).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1)
    authority: str | None = None

    @field_validator("tenant_id")
    @classmethod
    def _one_tenant(cls, v: str) -> str:
        v = v.strip()
        if v.lower() in {"common", "organizations", "consumers"}:
            raise ValueError(
                "client credentials need a specific tenant id, not a multi-tenant alias"
            )
        if "/" in v or not v:
            raise ValueError("a tenant id is a GUID or a domain name")
        return v

    @field_validator("authority")
    @classmethod
    def _https_authority(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = urlsplit(v.strip())
        if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") == "":
            raise ValueError(
                "the authority must be an https URL with a tenant path, "
                "e.g. https://login.microsoftonline.com/<tenant id>"
            )
        return v.strip().rstrip("/")

    def authority_url(self) -> str:
        return self.authority or f"{MICROSOFT_LOGIN}/{self.tenant_id}"


def token_scope(base_url: str) -> str:
    """The client-credentials scope of a Dataverse environment: ``{base_url}/.default``."""
    return base_url.rstrip("/") + "/.default"


class _MsalResponse:
    """The response shape msal reads: ``status_code``, ``text``, ``headers``."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.text = response.text
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise UnavailableError(
                f"the token endpoint answered HTTP {self.status_code}", provider="dynamics"
            )


class MsalHttpClient:
    """msal's ``http_client``: ``get``/``post`` over an ``httpx.Client`` we configured.

    Requests go out without the client's own auth (no recursion through ``DataverseAuth``).
    Transport errors propagate as httpx exceptions; ``DataverseAuth`` translates them.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> _MsalResponse:
        return self._send("GET", url, params=params, headers=headers)

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> _MsalResponse:
        if isinstance(data, Mapping):
            return self._send("POST", url, params=params, headers=headers, data=data)
        return self._send("POST", url, params=params, headers=headers, content=data)

    def close(self) -> None:
        """The httpx client belongs to the connector, which closes it."""

    def _send(self, method: str, url: str, **kwargs: Any) -> _MsalResponse:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        response = self._client.request(method, url, auth=None, **kwargs)
        return _MsalResponse(response)


class DataverseAuth(httpx.Auth):
    """Bearer tokens for Dataverse from msal's ``ConfidentialClientApplication``.

    Args:
        config: the connection's credentials.
        base_url: the Dataverse environment (``https://org.crm.dynamics.com``): the scope.
        http_client: the client msal talks through (set later with ``bind`` when the
            connector's own client is built with this auth).
    """

    def __init__(
        self,
        config: DynamicsAuthConfig,
        *,
        base_url: str,
        http_client: httpx.Client | None = None,
        provider: str = "dynamics",
    ) -> None:
        self.config = config
        self.scope = token_scope(base_url)
        self.provider = provider
        self._http_client = http_client
        self._app: Any = None
        self._lock = threading.Lock()

    def bind(self, client: httpx.Client) -> None:
        """Use ``client`` for token requests (when none was given)."""
        if self._http_client is None:
            self._http_client = client

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            # The token may have been revoked or expired early: one retry with a fresh one.
            request.headers["Authorization"] = f"Bearer {self.token(force_refresh=True)}"
            yield request

    def token(self, *, force_refresh: bool = False) -> str:
        """An access token for the environment (from msal's cache while it is fresh).

        Raises:
            ERPAuthenticationError: the identity provider refused the credentials.
            ERPConfigurationError: wrong tenant, authority or environment URL.
            RetriableError: the identity provider could not be reached or throttled us.
        """
        with self._lock:
            try:
                app = self._application()
                if force_refresh:
                    # A fresh cache drops the refused token (msal's remove_tokens_for_client
                    # would ask login.microsoftonline.com for instance aliases first).
                    app.token_cache = msal.TokenCache()
                result = app.acquire_token_for_client(scopes=[self.scope])
            except httpx.TransportError as exc:
                raise translate_transport_error(
                    exc, provider=self.provider, url=self.config.authority_url()
                ) from exc
            except ValueError as exc:
                self._app = None  # discovery failed: try it again next time
                raise ERPConfigurationError(
                    f"the token authority {self.config.authority_url()} could not be used: "
                    f"{_first_sentence(str(exc))}",
                    provider=self.provider,
                ) from exc
        if isinstance(result, dict) and result.get("access_token"):
            return str(result["access_token"])
        raise self._token_error(result if isinstance(result, dict) else {})

    def _application(self) -> Any:
        if self._app is None:
            if self._http_client is None:
                raise ERPConfigurationError(
                    "no HTTP client for token requests", provider=self.provider
                )
            authority = self.config.authority_url()
            host = (urlsplit(authority).hostname or "").lower()
            self._app = msal.ConfidentialClientApplication(
                self.config.client_id,
                client_credential=self.config.client_secret.get_secret_value(),
                authority=authority,
                http_client=MsalHttpClient(self._http_client),
                # msal would ask login.microsoftonline.com about any other host: off-line
                # authorities (sovereign proxies, the sandbox) are trusted as configured.
                instance_discovery=None if host in _MICROSOFT_HOSTS else False,
            )
        return self._app

    def _token_error(self, result: Mapping[str, Any]) -> ConnectorError:
        error = str(result.get("error") or "unknown_error")
        codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
        raw = str(result.get("error_description") or "")
        detail = self._scrub(_first_sentence(raw) or error)
        ctx: dict[str, Any] = {"provider": self.provider}
        if codes & _SECRET_CODES or error == "invalid_client":
            return ERPAuthenticationError(
                f"Azure AD refused the client credentials ({detail}): check auth_config."
                "client_secret (the secret's value, not its id) and whether it has expired",
                **ctx,
            )
        if codes & _CLIENT_CODES or error == "unauthorized_client":
            return ERPAuthenticationError(
                f"Azure AD does not know client_id {self.config.client_id} in tenant "
                f"{self.config.tenant_id} ({detail}): check auth_config.client_id",
                **ctx,
            )
        if codes & _TENANT_CODES or error == "invalid_tenant":
            return ERPConfigurationError(
                f"tenant {self.config.tenant_id} was not found ({detail}): "
                "check auth_config.tenant_id",
                **ctx,
            )
        if codes & _SCOPE_CODES or error in {"invalid_scope", "invalid_resource"}:
            return ERPConfigurationError(
                f"no Dataverse environment for scope {self.scope} in this tenant ({detail}): "
                "check base_url",
                **ctx,
            )
        if error == "temporarily_unavailable" or result.get("status") == 429:
            return ThrottledError(f"the token endpoint asked us to wait ({detail})", **ctx)
        return ERPAuthenticationError(f"the token request failed: {error} ({detail})", **ctx)

    def _scrub(self, text: str) -> str:
        secret = self.config.client_secret.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _first_sentence(text: str) -> str:
    """An AADSTS description without its trace/correlation ids and timestamp."""
    text = " ".join(text.split())
    for marker in (" Trace ID:", " Correlation ID:", " Timestamp:"):
        text = text.split(marker, 1)[0]
    return text.strip()[:400]
