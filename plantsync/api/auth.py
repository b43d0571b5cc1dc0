"""Who is calling: ``authenticate_request`` turns a request's credentials into a ``Principal``.

Accepted: ``Authorization: Bearer <access token>`` (a user or a service account) or
``X-API-Key: <key>``. Anything missing, malformed, expired or revoked answers 401 with
``WWW-Authenticate: Bearer`` (the error handler adds the header).
"""

from __future__ import annotations

from fastapi import Request

from plantsync.core.clock import Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Principal
from plantsync.core.security import decode_access_token
from plantsync.core.services.api_keys import authenticate_api_key
from plantsync.core.services.sessions import load_principal
from plantsync.errors import AuthenticationError

MAX_CREDENTIAL_LENGTH = 4096


def authenticate_request(request: Request) -> Principal:
    """The authenticated caller of ``request``.

    Raises:
        AuthenticationError: no credentials, or credentials that are not (or no longer) valid.
    """
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    clock: Clock = request.app.state.clock
    api_key = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization")
    if api_key is not None:
        _check_length(api_key)
        with database.read_session() as session:
            return authenticate_api_key(session=session, key=api_key.strip(), clock=clock)
    if not authorization:
        raise AuthenticationError("Authentication required: send a Bearer token or an X-API-Key")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("The Authorization header must be 'Bearer <access token>'")
    _check_length(token)
    claims = decode_access_token(settings, token, clock=clock)
    with database.read_session() as session:
        principal = load_principal(session, kind=claims.kind, subject_id=claims.subject_id)
    if principal.tenant_id != claims.tenant_id:
        raise AuthenticationError("The access token does not match its account")
    return principal


def _check_length(value: str) -> None:
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise AuthenticationError("The credentials are malformed")
