"""``test_connection``: the connector's own diagnostics against the ERP, audited without secrets."""

from __future__ import annotations

import time
import uuid

from plantsync.connectors.base import ConnectionTestResult
from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Principal
from plantsync.core.services.audit import record_audit
from plantsync.core.services.connections.read import get_connection
from plantsync.core.services.connections.secrets import (
    decrypt_auth_config,
    scrub_text,
    secret_values,
)
from plantsync.errors import ConnectorError


def test_connection(
    *,
    database: Database,
    tenant_id: uuid.UUID,
    connection: str | uuid.UUID,
    principal: Principal,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
) -> ConnectionTestResult:
    """Runs the connector's own diagnostics against the ERP; audits the outcome (no secrets).

    No database transaction is held while the ERP answers.
    """
    from plantsync.connectors.registry import build_connector
    from plantsync.core.sync.setup import connector_config  # setup imports this package

    with database.read_session() as session:
        conn = get_connection(session=session, tenant_id=tenant_id, connection=connection)
    auth = decrypt_auth_config(conn, settings)
    config = connector_config(conn, auth=auth)
    secrets = secret_values(auth)
    started = time.monotonic()
    try:
        with build_connector(config) as connector:
            result = connector.test()
    except ConnectorError as exc:
        latency = int((time.monotonic() - started) * 1000)
        result = ConnectionTestResult(success=False, latency_ms=latency, message=exc.message)
    result = ConnectionTestResult(
        success=result.success,
        latency_ms=result.latency_ms,
        message=scrub_text(result.message, secrets),
    )
    with database.write_session() as session:
        record_audit(
            session=session,
            principal=principal,
            action="connection.test",
            target_type="connection",
            target_id=conn.id,
            details={"success": result.success, "latency_ms": result.latency_ms},
            clock=clock,
        )
    return result
