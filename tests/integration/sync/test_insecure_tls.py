"""A connection with TLS verification off is allowed, and warned about at each run."""

from __future__ import annotations

import logging

import pytest

from plantsync.core.models.integration import SyncStatus
from plantsync.entities import Direction, EntityType
from tests.integration.sync.conftest import Hub


def test_each_run_of_an_insecure_connection_warns_once(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    conn = hub.connect("oracle", tls={"verify": False})
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            log = hub.sync(conn, Direction.inbound, EntityType.machine)
        assert log.status == SyncStatus.success, log.message
        warnings = [
            r for r in caplog.records if "verification is disabled" in r.getMessage().lower()
        ]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
        assert str(conn.id) in warnings[0].getMessage()
