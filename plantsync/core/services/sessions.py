"""Logging in and out: credentials -> tokens, refresh-token rotation, failed-login limits.

- Login takes an email and password, or a service account's client id and secret, and answers
  an access token (a short-lived JWT) and a refresh token (random, stored as a digest).
- A refresh token is used once: refreshing marks it used and issues the next one of the same
  family. Presenting a used token again means it leaked: the whole family is revoked.
- Failed logins are counted in the database (so every API process sees them) per account and
  per client address; over the limit, logins answer 429 until the window has passed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, delete, select, update

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.models.accounts import LoginFailure, RefreshToken, ServiceAccount, User
from plantsync.core.principal import Principal, PrincipalKind
from plantsync.core.security import (
    encode_access_token,
    new_token,
    token_digest,
    verify_password,
)
from plantsync.core.services.accounts import service_account_principal, user_principal
from plantsync.errors import AuthenticationError, RateLimitedError

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid credentials"
INVALID_REFRESH = "The refresh token is invalid, expired or revoked"


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


@dataclass(frozen=True)
class Credentials:
    """Either ``email``+``password`` (a user) or ``client_id``+``client_secret`` (a service)."""

    identifier: str
    secret: str
    is_service: bool


def login(
    *,
    session: Session,
    credentials: Credentials,
    client_address: str | None,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> TokenPair:
    """Checks the credentials and starts a new token family.

    Raises:
        RateLimitedError: too many recent failures for this account or address.
        AuthenticationError: the credentials are wrong or the account is inactive.
    """
    account_key = (
        "client:" if credentials.is_service else "email:"
    ) + credentials.identifier.lower()
    limits = [("account", account_key, settings.login_max_failures)]
    if client_address:
        limits.append(("address", client_address, settings.login_max_failures_per_address))
    _check_rate(session, limits, settings, clock)
    principal = _check_credentials(session, credentials, settings)
    if principal is None:
        _record_failure(session, limits, settings, clock)
        log.info("failed login for an account from %s", client_address or "an unknown address")
        raise AuthenticationError(INVALID_CREDENTIALS)
    session.exec(
        delete(LoginFailure).where(
            col(LoginFailure.scope) == "account", col(LoginFailure.key) == account_key
        )
    )
    pair = _issue(session, principal, uuid.uuid4(), settings, clock)
    session.commit()
    return pair


def _check_credentials(
    session: Session, credentials: Credentials, settings: Settings
) -> Principal | None:
    stored_hash, principal = _lookup(session, credentials)
    # End the transaction before the deliberately slow KDF: on SQLite a write transaction
    # holds the database's write lock, and other writers must not wait for a hash.
    session.rollback()
    ok = verify_password(settings, stored_hash, credentials.secret)
    return principal if ok else None


def _lookup(session: Session, credentials: Credentials) -> tuple[str | None, Principal | None]:
    """The stored hash and the principal (``None`` when inactive) of the credentials' account."""
    if credentials.is_service:
        account = session.exec(
            select(ServiceAccount).where(ServiceAccount.client_id == credentials.identifier)
        ).first()
        if account is None:
            return None, None
        active = service_account_principal(account) if account.is_active else None
        return account.secret_hash, active
    email = credentials.identifier.strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        return None, None
    return user.password_hash, user_principal(user) if user.is_active else None


def _check_rate(
    session: Session, limits: list[tuple[str, str, int]], settings: Settings, clock: Clock
) -> None:
    now = clock.now()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    for scope, key, limit in limits:
        recent = session.exec(
            select(LoginFailure.occurred_at)
            .where(LoginFailure.scope == scope, LoginFailure.key == key)
            .where(col(LoginFailure.occurred_at) > now - window)
            .order_by(col(LoginFailure.occurred_at).desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            retry_after = (recent[-1] + window - now).total_seconds()
            raise RateLimitedError(
                f"Too many failed logins for this {scope}; try again later",
                retry_after=max(1.0, retry_after),
            )


def _record_failure(
    session: Session, limits: list[tuple[str, str, int]], settings: Settings, clock: Clock
) -> None:
    now = clock.now()
    horizon = now - timedelta(seconds=settings.login_failure_window_seconds)
    # Failures older than the window no longer count: drop them so the table stays small.
    session.exec(delete(LoginFailure).where(col(LoginFailure.occurred_at) <= horizon))
    for scope, key, _limit in limits:
        session.add(LoginFailure(scope=scope, key=key[:255], occurred_at=now))
    session.commit()


def _issue(
    session: Session, principal: Principal, family_id: uuid.UUID, settings: Settings, clock: Clock
) -> TokenPair:
    access, ttl = encode_access_token(
        settings,
        subject_id=principal.subject_id,
        tenant_id=principal.tenant_id,
        kind=principal.kind.value,
        clock=clock,
    )
    refresh = new_token("psr_")
    now = clock.now()
    session.add(
        RefreshToken(
            tenant_id=principal.tenant_id,
            subject_kind=principal.kind.value,
            subject_id=principal.subject_id,
            family_id=family_id,
            token_hash=token_digest(refresh),
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


def refresh(
    *, session: Session, refresh_token: str, settings: Settings, clock: Clock = SYSTEM_CLOCK
) -> TokenPair:
    """Exchanges a refresh token for a new pair (the old token is used up).

    Raises:
        AuthenticationError: unknown, expired or revoked token; or a reused token, in which
            case every token of its family is revoked first.
    """
    now = clock.now()
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise AuthenticationError(INVALID_REFRESH)
    # Claim the token atomically: of two concurrent refreshes with one token, one wins.
    claimed = session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id)
        .where(col(RefreshToken.used_at).is_(None), col(RefreshToken.revoked_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        _revoke_family(session, row.family_id, now)
        session.commit()
        log.warning("refresh token reused: family %s revoked", row.family_id)
        raise AuthenticationError(
            "The refresh token was already used; every session of this login has been revoked"
        )
    principal = load_principal(session, kind=row.subject_kind, subject_id=row.subject_id)
    pair = _issue(session, principal, row.family_id, settings, clock)
    session.commit()
    return pair


def logout(*, session: Session, refresh_token: str, clock: Clock = SYSTEM_CLOCK) -> None:
    """Revokes the token's family (this login); unknown tokens are ignored (idempotent)."""
    row = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token))
    ).first()
    if row is not None:
        _revoke_family(session, row.family_id, clock.now())
        session.commit()


def _revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> None:
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def load_principal(session: Session, *, kind: str, subject_id: uuid.UUID) -> Principal:
    """The current principal of a token's subject (role as of now).

    Raises:
        AuthenticationError: the subject no longer exists or is inactive.
    """
    if kind == PrincipalKind.user.value:
        user = session.get(User, subject_id)
        if user is not None and user.is_active:
            return user_principal(user)
    elif kind == PrincipalKind.service_account.value:
        account = session.get(ServiceAccount, subject_id)
        if account is not None and account.is_active:
            return service_account_principal(account)
    raise AuthenticationError("The account of this token no longer exists or is inactive")
