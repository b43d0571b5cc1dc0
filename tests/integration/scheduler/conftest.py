"""A small sandbox ERP (a few records per entity) for the scheduler's process tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plantsync.sandbox.server import Sandbox, SandboxRunner
from tests.integration.connectors.conftest import SandboxHandle


@pytest.fixture(scope="module")
def small_erp() -> Iterator[SandboxHandle]:
    runner = SandboxRunner(Sandbox(records=15, seed=5), host="127.0.0.1", port=0)
    runner.start()
    handle = SandboxHandle(runner)
    try:
        yield handle
    finally:
        handle.close()
        runner.stop()
