"""Who is calling: ``authenticate_request`` turns a request's credentials into a ``Principal``.

Accepted: ``Authorization: Bearer <access token>`` (a user or a service account) or
``X-API-Key: <key>``. Anything missing, malformed, expired or revoked answers 401 with
``WWW-Authenticate: Bearer`` (the error handler adds the header).

Per request: a bearer token's signature is verified once per process (the verified claims
are kept by signing key and token; the expiry is checked again on every request) and the
account is read each time (so deactivation takes effect at once); an API key is one indexed
lookup of its SHA-256 digest. No password hash is ever computed here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from fastapi import Request
from sqlmodel import Session

from plantsync.core.clock import Clock
from plantsync.core.config import Settings
from plantsync.core.principal import Principal
from plantsync.core.security import AccessClaims, HubKeys, decode_access_token
from plantsync.core.services.api_keys import authenticate_api_key
from plantsync.core.services.sessions import load_principal
from plantsync.errors import AuthenticationError

MAX_CREDENTIAL_LENGTH = 4096
VERIFIED_TOKENS = 1024  # tokens whose checked claims are kept (least recently used go first)


class _VerifiedTokens:
    """Claims of access tokens already verified, by (signing key, token): a token's signature
    and claims never change, so they are checked once; its expiry is the caller's to check."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._claims: OrderedDict[tuple[str, str], AccessClaims] = OrderedDict()

    def get(self, key: tuple[str, str]) -> AccessClaims | None:
        with self._lock:
            claims = self._claims.get(key)
            if claims is not None:
                self._claims.move_to_end(key)
            return claims

    def put(self, key: tuple[str, str], claims: AccessClaims) -> None:
        with self._lock:
            self._claims[key] = claims
            self._claims.move_to_end(key)
            while len(self._claims) > self._size:
                self._claims.popitem(last=False)


_verified = _VerifiedTokens(VERIFIED_TOKENS)


def authenticate_request(request: Request, *, session: Session) -> Principal:
    """The authenticated caller of ``request``.

    Args:
        session: the read session the account or key is looked up in.

    Raises:
        AuthenticationError: no credentials, or credentials that are not (or no longer) valid.
    """
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization")
    if api_key is not None:
        _check_length(api_key)
        return authenticate_api_key(session=session, key=api_key.strip(), clock=clock)
    if not authorization:
        raise AuthenticationError("Authentication required: send a Bearer token or an X-API-Key")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("The Authorization header must be 'Bearer <access token>'")
    _check_length(token)
    claims = _access_claims(request, settings, token, clock)
    principal = load_principal(session, kind=claims.kind, subject_id=claims.subject_id)
    if principal.tenant_id != claims.tenant_id:
        raise AuthenticationError("The access token does not match its account")
    return principal


def _access_claims(request: Request, settings: Settings, token: str, clock: Clock) -> AccessClaims:
    keys: HubKeys = request.app.state.keys
    cache_key = (keys.secret_key, token)
    claims = _verified.get(cache_key)
    if claims is None:
        claims = decode_access_token(settings, token, clock=clock)
        _verified.put(cache_key, claims)
    elif claims.expires_at <= clock.now():
        raise AuthenticationError("The access token has expired")
    return claims


def _check_length(value: str) -> None:
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise AuthenticationError("The credentials are malformed")
