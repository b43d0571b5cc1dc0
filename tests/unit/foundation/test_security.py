"""Keys, secrets at rest, passwords and access tokens (no database)."""

from __future__ import annotations

import stat
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from plantsync.core.clock import FrozenClock
from plantsync.core.config import Settings
from plantsync.core.security import (
    SecretBox,
    add_encryption_key_to_data_dir,
    decode_access_token,
    encode_access_token,
    hash_password,
    hub_keys,
    keys_file,
    secret_box,
    verify_password,
)
from plantsync.core.services.audit import scrub
from plantsync.errors import AuthenticationError, ConfigurationError


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", password_hash_cost="low", **values)  # type: ignore[call-arg, arg-type]


def test_sqlite_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = hub_keys(settings)
    path = keys_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = hub_keys(_settings(tmp_path))
    assert again == first
    assert first.secret_key not in repr(first)


def test_postgres_without_keys_is_a_configuration_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path, database_url="postgresql://u@db.example/x")
    with pytest.raises(
        ConfigurationError, match="PLANTSYNC_SECRET_KEY and PLANTSYNC_ENCRYPTION_KEYS"
    ):
        hub_keys(settings)
    assert not keys_file(settings).exists()
    with pytest.raises(ConfigurationError, match="not a valid Fernet key"):
        hub_keys(_settings(tmp_path, database_url="postgresql://u@h/x", secret_key="s" * 40, encryption_keys="nope"))  # fmt: skip


def test_secret_box_decrypts_with_old_keys_and_rotates_to_the_newest() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox((old,)).encrypt("s3cret-value")
    both = SecretBox((new, old))
    assert both.decrypt(token) == "s3cret-value"
    rotated = both.rotate(token)
    assert SecretBox((new,)).decrypt(rotated) == "s3cret-value"
    with pytest.raises(ConfigurationError):
        SecretBox((new,)).decrypt(token)


def test_rotating_keys_in_the_data_dir_keeps_old_secrets_readable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    token = secret_box(settings).encrypt("value")
    add_encryption_key_to_data_dir(settings)
    keys = hub_keys(settings)
    assert len(keys.encryption_keys) == 2
    assert secret_box(settings).decrypt(token) == "value"
    env_keys = _settings(tmp_path, encryption_keys=Fernet.generate_key().decode())
    with pytest.raises(ConfigurationError, match="PLANTSYNC_ENCRYPTION_KEYS"):
        add_encryption_key_to_data_dir(env_keys)


def test_password_hashing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    hashed = hash_password(settings, "correct horse")
    assert "correct horse" not in hashed
    assert verify_password(settings, hashed, "correct horse")
    assert not verify_password(settings, hashed, "wrong horse")
    assert not verify_password(settings, None, "anything")
    assert not verify_password(settings, "not-a-hash", "anything")


def test_access_tokens_expire_on_the_clock(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key="k" * 40)
    clock = FrozenClock()
    token, ttl = encode_access_token(settings, subject_id=uuid.uuid4(), tenant_id=uuid.uuid4(), kind="user", clock=clock)  # fmt: skip
    assert decode_access_token(settings, token, clock=clock).kind == "user"
    clock.advance(timedelta(seconds=ttl))
    with pytest.raises(AuthenticationError, match="expired"):
        decode_access_token(settings, token, clock=clock)
    with pytest.raises(AuthenticationError):
        decode_access_token(_settings(tmp_path, secret_key="o" * 40), token, clock=FrozenClock())


def test_audit_details_never_keep_secrets() -> None:
    details = {"name": "mes", "client_secret": "x", "password": "y", "auth_config": {"a": 1},
               "nested": {"api_key": "z", "ok": [uuid.UUID(int=1)]}, "key": "k"}  # fmt: skip
    assert scrub(details) == {"name": "mes", "nested": {"ok": [str(uuid.UUID(int=1))]}}
