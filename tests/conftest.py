"""Shared fixtures. Each test that needs storage gets its own database: a fresh SQLite file,
or a fresh PostgreSQL schema (dropped afterwards). ``db`` is parametrised over both.

PostgreSQL comes from ``PLANTSYNC_TEST_POSTGRES_URL`` (default: the local server). When it does
not answer, its tests are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import io
import os
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import SQLModel

import plantsync.core.models  # noqa: F401 - registers every table
from plantsync.api.app import create_app
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.config import Settings, get_settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.principal import Role
from plantsync.core.security import encode_access_token
from tests.factories import create_tenant, create_user

with warnings.catch_warnings():
    # Starlette's test client prefers the `httpx2` package, not on our index yet; the API
    # of `httpx` it falls back on is the same. Imported once here, so no later import warns.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

POSTGRES_URL = os.environ.get(
    "PLANTSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

_pg_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None when it answers). Checked once per session."""
    if "reason" not in _pg_state:
        try:
            engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:
            _pg_state["reason"] = f"PostgreSQL at {POSTGRES_URL} does not answer: {exc}"
    return _pg_state["reason"]


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A database URL whose search_path is a fresh, empty schema (dropped after the test)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'plantsync.db').as_posix()}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for a test hub: its own data dir and database, cheap password hashing."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret-key-" + uuid.uuid4().hex,  # type: ignore[arg-type]
        encryption_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
        password_hash_cost="low",
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A ``Database`` on an empty schema with every table created."""
    database = Database(settings.effective_database_url)
    SQLModel.metadata.create_all(database.engine)
    yield database
    database.dispose()


# --- API fixtures (foundation) --------------------------------------------------------------


@pytest.fixture
def tenant(db: Database) -> Tenant:
    """A tenant in ``db``."""
    return create_tenant(db)


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A ``TestClient`` on the API over ``db`` (system clock)."""
    with TestClient(create_app(settings, database=db)) as test_client:
        yield test_client


HeadersFactory = Callable[..., dict[str, str]]


@pytest.fixture
def headers(settings: Settings, db: Database, tenant: Tenant) -> HeadersFactory:
    """``headers(role=Role.admin, tenant_id=None)``: a Bearer header of a fresh user with that
    role in that tenant (default: the ``tenant`` fixture's)."""

    def make(role: Role = Role.admin, tenant_id: uuid.UUID | None = None) -> dict[str, str]:
        user = create_user(db, tenant_id=tenant_id or tenant.id, role=role)
        token, _ttl = encode_access_token(
            settings, subject_id=user.id, tenant_id=user.tenant_id, kind="user", clock=SYSTEM_CLOCK
        )
        return {"Authorization": f"Bearer {token}"}

    return make


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CliRunner]:
    """``cli("users", "list", input="...")``: runs the ``plantsync`` command in-process against
    the test's ``settings`` (its database and keys) and returns exit code, stdout and stderr."""
    from plantsync.cli.main import main

    env = {
        "PLANTSYNC_DATABASE_URL": settings.effective_database_url,
        "PLANTSYNC_DATA_DIR": str(settings.data_dir),
        "PLANTSYNC_PASSWORD_HASH_COST": settings.password_hash_cost,
    }
    for name, secret in (
        ("PLANTSYNC_SECRET_KEY", settings.secret_key),
        ("PLANTSYNC_ENCRYPTION_KEYS", settings.encryption_keys),
    ):
        if secret is not None:
            env[name] = secret.get_secret_value()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    def run(*args: str, input: str | None = None) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["plantsync", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(input or ""))
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    yield run
    get_settings.cache_clear()
