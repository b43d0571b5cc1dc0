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
    # --- background syncs (plantsync.scheduler) ---
    executor: Literal["embedded", "queue"] = Field(
        default="embedded",
        description="Where sync runs execute: 'embedded' (a thread pool inside `plantsync serve`)"
        " or 'queue' (PostgreSQL only: `plantsync scheduler` enqueues, `plantsync worker`s run).",
    )
    executor_threads: int = Field(default=2, ge=1, le=64, description="Embedded run threads.")
    worker_concurrency: int = Field(
        default=2, ge=1, le=64, description="Runs one `plantsync worker` executes at once."
    )
    scheduler_enabled: bool = Field(
        default=True, description="Embedded: `plantsync serve` also schedules due syncs."
    )
    scheduler_tick_seconds: float = Field(
        default=5.0,
        ge=0.2,
        le=300,
        description="How often the scheduler reconciles with the database (due runs, changed "
        "connections) and a standby tries to take over.",
    )
    scheduler_jitter_seconds: float = Field(
        default=300.0,
        ge=0,
        description="At most this long (and at most half the interval) first runs and runs "
        "missed while the hub was down are spread, per connection and entity.",
    )
    sync_lease_seconds: float = Field(
        default=120.0,
        ge=1,
        description="A run's lease; renewed every third of it while its worker lives.",
    )
    sync_retry_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts of a run abandoned by a dead worker."
    )
    sync_retry_delay_seconds: float = Field(
        default=30.0, ge=0, description="Wait before retrying an abandoned run (doubles)."
    )
    stalled_check_seconds: float = Field(
        default=15.0, ge=0.2, description="How often stalled runs are looked for."
    )
    degraded_after_failures: int = Field(
        default=3, ge=1, description="Consecutive failed runs that flag a connection degraded."
    )
    scheduler_minute_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Test-only: the length of one interval minute in seconds (shortens "
        "sync_interval_minutes in tests; the 5-minute floor stays for users).",
    )
    sync_runner: str | None = Field(
        default=None,
        description="Test-only: 'module:function' run instead of the sync engine's run_sync.",
    )

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
