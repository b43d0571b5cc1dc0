"""Error handlers: one body everywhere, ``{"code", "message", "errors": {field: [msg]}}``.

Invalid JSON answers 400; bad fields 422 naming each one; nothing answers with a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from plantsync.errors import (
    AuthenticationError,
    PlantSyncError,
    RateLimitedError,
    ThrottledError,
)

log = logging.getLogger(__name__)


def error_body(
    code: str, message: str, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or {}}


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _plantsync_error(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PlantSyncError)
    errors = getattr(exc, "errors", None)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimitedError | ThrottledError) and exc.retry_after:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if exc.status_code >= 500:
        log.error("request failed: %s", exc.message)
    return JSONResponse(
        error_body(exc.code, exc.message, errors), status_code=exc.status_code, headers=headers
    )


def _request_validation(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return JSONResponse(
                error_body("invalid_json", "The request body is not valid JSON"), status_code=400
            )
        errors.setdefault(_field_name(err.get("loc", ())), []).append(str(err.get("msg")))
    message = "Invalid value for: " + ", ".join(sorted(errors))
    return JSONResponse(error_body("validation_error", message, errors), status_code=422)


def _http_exception(_req: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        # Starlette's words for a body that is not UTF-8 (or not form data): say what we expect.
        code, message = "invalid_json", "The request body must be UTF-8 encoded JSON"
    return JSONResponse(
        error_body(code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _unhandled(_req: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "An internal error occurred; it has been logged."),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlantSyncError, _plantsync_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unhandled)
