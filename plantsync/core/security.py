"""Security primitives: hub keys, secrets at rest, password hashing, tokens.

- Hub keys: ``PLANTSYNC_SECRET_KEY`` signs JWTs; ``PLANTSYNC_ENCRYPTION_KEYS`` (Fernet keys,
  newest first) encrypt secrets at rest. On the embedded SQLite default, keys not given in the
  environment are generated once into ``<data_dir>/keys.json`` (mode 0600). On PostgreSQL every
  API node and worker must share them, so a missing key is a ``ConfigurationError``.
- ``secret_box(settings)`` encrypts/decrypts with ``MultiFernet`` (decrypts with any key,
  encrypts with the newest). Columns holding ciphertext are declared with
  ``register_encrypted_column`` so that ``plantsync keys rotate`` can re-encrypt them.
- Passwords and client secrets: argon2id (``password_hash_cost="low"`` is for tests only).
- Opaque high-entropy tokens (refresh tokens, API keys) are stored as SHA-256 digests: they are
  random, so a slow KDF adds nothing but latency on every request.
- Access tokens: HS256 JWTs; expiry is checked against an injectable clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from plantsync.core.clock import Clock
from plantsync.core.config import Settings
from plantsync.errors import AuthenticationError, ConfigurationError

KEYS_FILE_NAME = "keys.json"
JWT_ALGORITHM = "HS256"


# --- hub keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubKeys:
    """The JWT signing key and the Fernet keys (newest first) this hub uses."""

    secret_key: str
    encryption_keys: tuple[str, ...]

    def __repr__(self) -> str:  # never print key material
        return f"HubKeys(encryption_keys={len(self.encryption_keys)} key(s))"


_keys_lock = threading.Lock()
_keys_cache: dict[tuple[Any, ...], HubKeys] = {}


def keys_file(settings: Settings) -> Path:
    return settings.data_dir / KEYS_FILE_NAME


def keys_are_managed_in_data_dir(settings: Settings) -> bool:
    """True when at least one key comes from the data directory (SQLite, not in the env)."""
    return settings.is_sqlite and (settings.secret_key is None or settings.encryption_keys is None)


def hub_keys(settings: Settings) -> HubKeys:
    """The hub's keys: from the settings, else (SQLite only) from/into the data directory.

    Raises:
        ConfigurationError: on PostgreSQL when a key is missing, or a key is not valid.
    """
    cache_key = (
        _secret(settings.secret_key),
        _secret(settings.encryption_keys),
        settings.is_sqlite,
        str(settings.data_dir.resolve()),
    )
    with _keys_lock:
        cached = _keys_cache.get(cache_key)
        if cached is None:
            cached = _keys_cache[cache_key] = _load_keys(settings)
        return cached


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _load_keys(settings: Settings) -> HubKeys:
    secret = _secret(settings.secret_key)
    enc = _secret(settings.encryption_keys)
    if secret is None or enc is None:
        if not settings.is_sqlite:
            missing = [
                name
                for name, value in (
                    ("PLANTSYNC_SECRET_KEY", secret),
                    ("PLANTSYNC_ENCRYPTION_KEYS", enc),
                )
                if value is None
            ]
            raise ConfigurationError(
                f"{' and '.join(missing)} must be set on PostgreSQL: every API node and worker "
                "must share the same keys (generate with `plantsync keys generate`)"
            )
        stored = _read_or_create_keys_file(keys_file(settings))
        secret = secret if secret is not None else stored.secret_key
        enc_list = _split_keys(enc) if enc is not None else stored.encryption_keys
    else:
        enc_list = _split_keys(enc)
    if len(secret.encode("utf-8")) < 32:  # HS256 wants a key of at least 32 bytes
        raise ConfigurationError("PLANTSYNC_SECRET_KEY must be at least 32 characters")
    _check_fernet_keys(enc_list)
    return HubKeys(secret_key=secret, encryption_keys=enc_list)


def _split_keys(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.split(",") if k.strip())


def _check_fernet_keys(keys: tuple[str, ...]) -> None:
    if not keys:
        raise ConfigurationError("PLANTSYNC_ENCRYPTION_KEYS holds no key")
    for index, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"PLANTSYNC_ENCRYPTION_KEYS: key #{index} is not a valid Fernet key"
            ) from exc


def generate_keys() -> HubKeys:
    """Fresh keys: a random signing key and one Fernet key."""
    return HubKeys(
        secret_key=secrets.token_urlsafe(48), encryption_keys=(Fernet.generate_key().decode(),)
    )


def _read_or_create_keys_file(path: Path) -> HubKeys:
    if not path.exists():
        _write_keys_file(path, generate_keys(), replace=False)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return HubKeys(
            secret_key=str(data["secret_key"]),
            encryption_keys=tuple(str(k) for k in data["encryption_keys"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"The keys file {path} is unreadable or damaged") from exc


def _write_keys_file(path: Path, keys: HubKeys, *, replace: bool) -> None:
    """Writes ``keys`` with mode 0600; without ``replace``, an existing file wins (no race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    payload = {"secret_key": keys.secret_key, "encryption_keys": list(keys.encryption_keys)}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            # Atomic "create if absent": processes starting together agree on one file.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def add_encryption_key_to_data_dir(settings: Settings) -> None:
    """Puts a new Fernet key first in the data directory's keys file (``keys rotate``).

    Raises:
        ConfigurationError: when the encryption keys come from the environment.
    """
    if not settings.is_sqlite or settings.encryption_keys is not None:
        raise ConfigurationError(
            "The encryption keys come from PLANTSYNC_ENCRYPTION_KEYS: put the new key first "
            "there on every node, then run `plantsync keys rotate`"
        )
    path = keys_file(settings)
    current = _read_or_create_keys_file(path)
    new_key = Fernet.generate_key().decode()
    _write_keys_file(
        path,
        HubKeys(current.secret_key, (new_key, *current.encryption_keys)),
        replace=True,
    )
    with _keys_lock:
        _keys_cache.clear()


# --- secrets at rest -------------------------------------------------------------------------


class SecretBox:
    """Encrypts with the newest key, decrypts with any configured key."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext of ``token``.

        Raises:
            ConfigurationError: no configured key decrypts it (a key was removed too early).
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise ConfigurationError(
                "A stored secret cannot be decrypted with the configured encryption keys"
            ) from exc

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted with the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise ConfigurationError(
                "A stored secret cannot be decrypted with the configured encryption keys"
            ) from exc


def secret_box(settings: Settings) -> SecretBox:
    """The ``SecretBox`` for this hub's encryption keys."""
    return SecretBox(hub_keys(settings).encryption_keys)


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[Any]
    attribute: str

    @property
    def label(self) -> str:
        return f"{self.model.__name__}.{self.attribute}"


_encrypted_columns: list[EncryptedColumn] = []


def register_encrypted_column(model: type[Any], attribute_name: str) -> None:
    """Declares that ``model.attribute_name`` holds ``SecretBox`` ciphertext (or NULL)."""
    if not hasattr(model, attribute_name):
        raise ValueError(f"{model.__name__} has no attribute {attribute_name!r}")
    column = EncryptedColumn(model, attribute_name)
    if column not in _encrypted_columns:
        _encrypted_columns.append(column)


def encrypted_columns() -> list[EncryptedColumn]:
    return list(_encrypted_columns)


# --- passwords and client secrets --------------------------------------------------------------

_hashers: dict[str, PasswordHasher] = {
    "default": PasswordHasher(),
    # Tests only: the minimum argon2 allows, so a suite creating many users stays fast.
    "low": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


def _hasher(settings: Settings) -> PasswordHasher:
    return _hashers[settings.password_hash_cost]


def hash_password(settings: Settings, password: str) -> str:
    """An argon2id hash of ``password`` (also used for service-account client secrets)."""
    return _hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spends the same time and answers False."""
    hasher = _hasher(settings)
    if password_hash is None:
        password_hash = _dummy_hash(settings.password_hash_cost)
        password = password + "\x00-no-such-account"
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[str, str] = {}


def _dummy_hash(cost: str) -> str:
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = _hashers[cost].hash(secrets.token_urlsafe(16))
    return _dummy_hashes[cost]


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    """A random URL-safe token (refresh tokens, API keys, client secrets)."""
    return prefix + secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """The SHA-256 hex digest we store for a random token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- access tokens (JWT) -----------------------------------------------------------------------


@dataclass(frozen=True)
class AccessClaims:
    subject_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    expires_at: datetime


def encode_access_token(
    settings: Settings,
    *,
    subject_id: uuid.UUID,
    tenant_id: uuid.UUID,
    kind: str,
    clock: Clock,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = clock.now()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(subject_id),
        "tid": str(tenant_id),
        "knd": kind,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, hub_keys(settings).secret_key, algorithm=JWT_ALGORITHM)
    return token, ttl


def decode_access_token(settings: Settings, token: str, *, clock: Clock) -> AccessClaims:
    """The claims of a valid, unexpired access token.

    Raises:
        AuthenticationError: malformed, badly signed, of the wrong type, or expired.
    """
    try:
        # Expiry is checked below against the injected clock, not the wall clock.
        claims = jwt.decode(
            token,
            hub_keys(settings).secret_key,
            algorithms=[JWT_ALGORITHM],
            options={"verify_exp": False, "require": ["sub", "tid", "knd", "exp", "typ"]},
        )
        if claims["typ"] != "access":
            raise AuthenticationError("The token is not an access token")
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=clock.now().tzinfo)
        parsed = AccessClaims(
            subject_id=uuid.UUID(str(claims["sub"])),
            tenant_id=uuid.UUID(str(claims["tid"])),
            kind=str(claims["knd"]),
            expires_at=expires,
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError(
            "The access token is malformed or its signature is invalid"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise AuthenticationError("The access token is malformed") from exc
    if parsed.expires_at <= clock.now():
        raise AuthenticationError("The access token has expired")
    return parsed
