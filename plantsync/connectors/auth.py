"""Authentication flows shared by connectors, as ``httpx.Auth`` subclasses.

- ``OAuth2ClientCredentials``: the OAuth2 client-credentials grant (RFC 6749 section 4.4) for a
  bearer token. The token is fetched on first use through the same client (so tests and
  TLS trust apply to the token endpoint too), cached, renewed shortly before it expires and
  fetched again, once, when the API answers 401 (a token revoked or expired early).

Token endpoint failures become our typed errors: a refused client (400/401 ``invalid_client``,
``unauthorized_client``, ``invalid_scope``) is ``ERPAuthenticationError``; 429/5xx are
``ThrottledError``/``UnavailableError``. Messages name the token URL, the client id and the
OAuth error code, never the secret or a token.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from plantsync.connectors.translate import retry_after_seconds
from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ThrottledError,
    UnavailableError,
)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # monotonic seconds


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from an OAuth2 token endpoint with the client-credentials grant.

    Args:
        token_url: the token endpoint (absolute URL).
        client_id: the OAuth client id.
        client_secret: the client secret (sent to the token endpoint only).
        scope: the scope(s) to request, space-separated; None sends no scope.
        client_auth: ``"basic"`` sends the client credentials as HTTP basic auth
            (``client_secret_basic``), ``"post"`` in the form body (``client_secret_post``).
        leeway_s: renew this many seconds before the token expires.
        provider: the provider name for error context.
        clock: a monotonic clock (tests pass their own).
    """

    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        client_auth: str = "basic",
        leeway_s: float = 60.0,
        provider: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if client_auth not in ("basic", "post"):
            raise ValueError("client_auth must be 'basic' or 'post'")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.client_auth = client_auth
        self.leeway_s = leeway_s
        self.provider = provider
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"
        )

    def invalidate(self) -> None:
        """Forget the cached token: the next request fetches a new one."""
        with self._lock:
            self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the bearer token; fetch it first when there is none or it is about to expire;
        on a 401 answer fetch a new token and send the request once more."""
        token = self._valid_token()
        if token is None:
            token = yield from self._fetch()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        self._forget(token)
        token = yield from self._fetch()
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request

    def _valid_token(self) -> _Token | None:
        with self._lock:
            token = self._token
        if token is not None and self._clock() < token.expires_at - self.leeway_s:
            return token
        return None

    def _forget(self, token: _Token) -> None:
        with self._lock:
            if self._token is token:
                self._token = None

    def _fetch(self) -> Generator[httpx.Request, httpx.Response, _Token]:
        response = yield self._token_request()
        token = self._parse(response)
        with self._lock:
            self._token = token
        return token

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            pair = f"{self.client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._client_secret
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    def _parse(self, response: httpx.Response) -> _Token:
        if response.status_code != 200:
            raise self._error(response)
        try:
            body = json.loads(response.content)
            value = body["access_token"]
            expires_in = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise ERPAuthenticationError(
                f"the token endpoint {self.token_url} answered without an access_token",
                provider=self.provider,
                status=response.status_code,
            ) from None
        if not isinstance(value, str) or not value:
            raise ERPAuthenticationError(
                f"the token endpoint {self.token_url} answered an empty access_token",
                provider=self.provider,
            )
        return _Token(value=value, expires_at=self._clock() + expires_in)

    def _error(self, response: httpx.Response) -> ConnectorError:
        status = response.status_code
        reason = _oauth_error(response)
        if status == 429:
            return ThrottledError(
                f"the token endpoint {self.token_url} is throttling requests (429)",
                retry_after=retry_after_seconds(response),
                provider=self.provider,
                status=status,
            )
        if status >= 500:
            return UnavailableError(
                f"the token endpoint {self.token_url} is unavailable ({status}{reason})",
                provider=self.provider,
                status=status,
            )
        if status == 404:
            return ERPAuthenticationError(
                f"no token endpoint at {self.token_url} (404): check token_url",
                provider=self.provider,
                status=status,
            )
        return ERPAuthenticationError(
            f"the token endpoint {self.token_url} refused the client credentials of client "
            f"{self.client_id!r} ({status}{reason}): check client_id, client_secret and scope",
            provider=self.provider,
            status=status,
        )


def _oauth_error(response: httpx.Response) -> str:
    """``: code - description`` from an RFC 6749 error body, or ``""``."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code = body.get("error")
    description = body.get("error_description")
    parts = [str(p)[:200] for p in (code, description) if p]
    return f": {' - '.join(parts)}" if parts else ""
