"""JSON log lines: one object per line, UTC time, secret-named extras masked."""

from __future__ import annotations

import json
import logging

from plantsync.core.logging import JsonFormatter


def test_json_lines_mask_secret_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "plantsync.test", "levelno": logging.INFO, "levelname": "INFO",
         "msg": "login for %s", "args": ("ada",), "client_secret": "s3cret", "tenant": "acme"}
    )  # fmt: skip
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["message"] == "login for ada"
    assert data["level"] == "INFO" and data["logger"] == "plantsync.test"
    assert data["time"].endswith("+00:00")
    assert data["client_secret"] == "********" and "s3cret" not in line
    assert data["tenant"] == "acme"
