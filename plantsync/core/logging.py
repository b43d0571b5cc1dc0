"""Logging set-up: text for people, JSON lines for log shippers (``PLANTSYNC_LOG_FORMAT``).

Messages never carry secrets by construction (errors build their messages from safe context);
as a second line of defence, values of ``Authorization``-like fields are masked in JSON extras.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from plantsync.core.config import Settings

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SECRET_HINTS = ("password", "secret", "token", "authorization", "api_key", "apikey")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            masked = any(hint in key.lower() for hint in _SECRET_HINTS)
            payload[key] = "********" if masked else _jsonable(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


#: Libraries that log each HTTP request at INFO; kept at WARNING unless the level is DEBUG.
QUIET_LOGGERS = ("httpx", "httpcore")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    """Routes every logger (ours, uvicorn's, the scheduler's) to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
    # httpx logs every request at INFO: one line per ERP page or batch drowns a sync's own
    # messages. Shown when debugging; failures reach the log through our own messages.
    chatty = logging.NOTSET if settings.log_level == "DEBUG" else logging.WARNING
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(chatty)


def uvicorn_log_config() -> dict[str, Any]:
    """A uvicorn ``log_config`` that leaves the handlers set by ``configure_logging`` alone."""
    return {"version": 1, "disable_existing_loggers": False}
