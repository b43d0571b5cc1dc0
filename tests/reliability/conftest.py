"""Fixtures of the reliability suite: an API with a filled tenant, for fuzzing.

``PLANTSYNC_FUZZ_EXAMPLES`` sets the examples schemathesis generates per operation (small in
``make test``; ``make fuzz`` raises it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from plantsync.api.app import create_app
from plantsync.core import migrate
from plantsync.core.clock import SYSTEM_CLOCK
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Role
from plantsync.core.security import encode_access_token
from plantsync.core.services.demo import fill_demo
from tests.factories import create_tenant, create_user

FUZZ_EXAMPLES = int(os.environ.get("PLANTSYNC_FUZZ_EXAMPLES", "4"))


class FuzzTarget:
    """The app under fuzzing and the admin's bearer header."""

    def __init__(self, tmp: Path) -> None:
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp / "data",
            database_url=f"sqlite:///{(tmp / 'fuzz.db').as_posix()}",
            secret_key="fuzz-secret-" + uuid.uuid4().hex,  # type: ignore[arg-type]
            encryption_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
            password_hash_cost="low",
        )
        self.db = Database(self.settings.effective_database_url)
        migrate.upgrade(self.db)  # the real schema, as `serve` has it
        tenant = create_tenant(self.db)
        with self.db.write_session() as session:
            fill_demo(session=session, tenant_id=tenant.id)
        user = create_user(self.db, tenant_id=tenant.id, role=Role.admin)
        token, _ = encode_access_token(
            self.settings,
            subject_id=user.id,
            tenant_id=tenant.id,
            kind="user",
            clock=SYSTEM_CLOCK,
        )
        self.headers = {"Authorization": f"Bearer {token}"}
        self.app = create_app(self.settings, database=self.db)


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    target = FuzzTarget(tmp_path_factory.mktemp("fuzz"))
    yield target
    target.db.dispose()


# --- real processes against the sandbox ERPs (soak, crash, mixed load) -----------------------

from tests.integration.sync.conftest import erp, sync_sandbox  # noqa: E402
from tests.reliability.processes import SoakWorld  # noqa: E402

__all__ = ["erp", "sync_sandbox"]


@pytest.fixture
def soak_world(tmp_path: Path, erp: Any) -> Iterator[SoakWorld]:
    """A SQLite hub with a tenant per provider, shared with the processes a test starts."""
    world = SoakWorld(tmp_path, None, erp, ("sap", "dynamics", "oracle"))
    yield world
    world.close()
