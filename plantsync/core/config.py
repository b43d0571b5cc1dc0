"""Settings: one ``Settings`` object, read from ``PLANTSYNC_*`` environment variables or ``.env``.

Validated at start-up. Secrets are ``SecretStr`` so they never print by accident; use
``Settings.masked()`` for anything shown to a person.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLANTSYNC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("var"), description="Where the embedded default keeps its database and keys."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: an SQLite file in the data directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="JWT signing key; generated and kept in the data dir on SQLite."
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys, newest first, for secrets at rest; "
        "generated and kept in the data dir on SQLite.",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86400, ge=300)
    password_hash_cost: Literal["default", "low"] = Field(
        default="default", description="'low' is for tests only: a cheap KDF cost."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per account per window."
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins per client address per window."
    )
    login_failure_window_seconds: int = Field(default=300, ge=1)
    auto_migrate: bool = Field(
        default=True,
        description="Migrate the database to the latest schema when `serve` or a CLI command "
        "starts (PostgreSQL: under an advisory lock). Off: run `plantsync db upgrade` yourself.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    log_retention_days: int = Field(default=90, ge=1, description="Sync logs older are pruned.")
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must be an sqlite:// or postgresql:// URL")
        if v is not None and v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v.removeprefix("postgresql://")
        return v

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'plantsync.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret replaced by a mask."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif name == "database_url" and value:
                out[name] = _mask_url(value)
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        out["effective_database_url"] = _mask_url(self.effective_database_url)
        return out


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` and pass them)."""
    return Settings()
