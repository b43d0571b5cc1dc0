"""Sync engine tests: a hub database (``db``, SQLite and PostgreSQL) with one connection per
provider to the sandbox ERPs over real HTTPS, and helpers to run syncs the product's way
(``request_sync`` -> claim -> ``run_sync`` -> ``finish``).

The sandbox here is this package's own (session-scoped): these tests change ERP data, so they
never share it with the connector suite. Sizes come from environment variables:
``PLANTSYNC_SYNC_MACHINES`` (machines per ERP, default 300 — several pages at the page size
below) and ``PLANTSYNC_SYNC_RECORDS`` (plant records pushed per test, default 60).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plantsync.connectors.base import Connector, ConnectorConfig
from plantsync.connectors.registry import build_connector
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.models import Tenant
from plantsync.core.models.connections import ConnectionCreate
from plantsync.core.models.integration import Connection, SyncLog, SyncTrigger
from plantsync.core.principal import Principal
from plantsync.core.services.connections import create_connection
from plantsync.core.sync import runs
from plantsync.core.sync.engine import bind_connector_factory, bind_settings
from plantsync.core.sync.executor import run_in_process
from plantsync.entities import Direction, EntityType
from plantsync.sandbox.server import Sandbox, SandboxRunner
from tests.factories import create_tenant
from tests.integration.connectors.conftest import FAST_RETRY, SandboxHandle

MACHINES = int(os.environ.get("PLANTSYNC_SYNC_MACHINES", "300"))
RECORDS = int(os.environ.get("PLANTSYNC_SYNC_RECORDS", "60"))
PAGE_SIZE = 100  # small pages so a few hundred machines span several
PROVIDERS = ("sap", "dynamics", "oracle")


@pytest.fixture(scope="session")
def sync_sandbox() -> Iterator[SandboxHandle]:
    runner = SandboxRunner(Sandbox(records=MACHINES, seed=11), host="127.0.0.1", port=0)
    runner.start()
    handle = SandboxHandle(runner)
    try:
        yield handle
    finally:
        handle.close()
        runner.stop()


@pytest.fixture
def erp(sync_sandbox: SandboxHandle) -> SandboxHandle:
    """The sandbox with fresh data (``MACHINES`` per entity), no faults, zeroed counters."""
    sync_sandbox.set_faults()
    sync_sandbox.reset(records=MACHINES)
    return sync_sandbox


def provider_store(handle: SandboxHandle, provider: str) -> Any:
    """The in-memory ERP behind ``provider`` (to change ERP data the way users would)."""
    return handle.runner.sandbox.providers[provider]  # type: ignore[attr-defined]


def fast_factory(config: ConnectorConfig) -> Connector:
    return build_connector(dataclasses.replace(config, retry=FAST_RETRY, page_size=PAGE_SIZE))


@dataclasses.dataclass
class Hub:
    """A tenant in ``db`` and ways to make connections and run syncs."""

    db: Database
    settings: Settings
    tenant: Tenant
    erp: SandboxHandle

    def connect(self, provider: str, **fields: Any) -> Connection:
        info = self.erp.info[provider]
        body: dict[str, Any] = {
            "name": f"{provider}-{uuid.uuid4().hex[:6]}",
            "provider": provider,
            "base_url": info["base_url"],
            "auth_config": info["auth_config"],
            "sync_interval_minutes": 60,
            "tls": {"ca_bundle_pem": info["tls"]["ca_bundle_pem"]},
            **fields,
        }
        with self.db.write_session() as session:
            return create_connection(
                session=session,
                tenant_id=self.tenant.id,
                data=ConnectionCreate.model_validate(body),
                principal=Principal.system(self.tenant.id),
                settings=self.settings,
            )

    def request(
        self,
        conn: Connection,
        direction: Direction,
        entity: EntityType,
        *,
        entity_id: str | None = None,
        trigger: SyncTrigger = SyncTrigger.manual,
    ) -> tuple[SyncLog, bool]:
        with self.db.write_session() as session:
            return runs.request_sync(
                session=session, tenant_id=self.tenant.id, connection_id=conn.id,
                direction=direction, entity_type=entity, entity_id=entity_id, trigger=trigger,
                principal=Principal.system(self.tenant.id),
            )  # fmt: skip

    def run_log(self, log_id: uuid.UUID) -> SyncLog:
        with bind_settings(self.settings), bind_connector_factory(fast_factory):
            final = run_in_process(log_id, database=self.db)
        assert final is not None
        return final

    def sync(
        self,
        conn: Connection,
        direction: Direction,
        entity: EntityType,
        **kwargs: Any,
    ) -> SyncLog:
        log, _created = self.request(conn, direction, entity, **kwargs)
        return self.run_log(log.id)


@pytest.fixture
def hub(db: Database, settings: Settings, erp: SandboxHandle) -> Hub:
    return Hub(db=db, settings=settings, tenant=create_tenant(db), erp=erp)


HubFactory = Callable[..., Hub]
