"""Logging set-up: httpx's per-request INFO lines stay out of the log unless debugging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from plantsync.core.config import Settings
from plantsync.core.logging import QUIET_LOGGERS, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("restore_logging")
def test_httpx_request_lines_are_quiet_at_info() -> None:
    configure_logging(Settings(log_level="INFO"))
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    assert logging.getLogger("plantsync.core.sync").isEnabledFor(logging.INFO)


@pytest.mark.usefixtures("restore_logging")
def test_httpx_request_lines_show_when_debugging() -> None:
    configure_logging(Settings(log_level="DEBUG"))
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("httpcore").isEnabledFor(logging.DEBUG)
