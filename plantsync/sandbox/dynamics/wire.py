"""Small pieces of the Dataverse and Azure AD wire formats for the sandbox: a request's origin,
AADSTS error answers, JSON request bodies and row keys (refused with Dataverse's words).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plantsync.sandbox.dynamics.schema import DataverseFault


def origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    trace = uuid.uuid4()
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {uuid.uuid4()} Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ')}",
            "error_codes": [code],
            "trace_id": str(trace),
        },
        status_code=status,
    )


def json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise DataverseFault(400, "0x80048d19", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise DataverseFault(400, "0x80048d19", "The request body must be a JSON object.")
    return data


def row_key(text: str) -> str:
    try:
        return str(uuid.UUID(text.strip("{}")))
    except ValueError:
        raise DataverseFault(
            400,
            "0x80060888",
            f"Alternate key ({text}) is not defined for this table in the sandbox.",
        ) from None
