"""``$batch`` for the Dataverse sandbox: multipart/mixed in, multipart/mixed out.

Requests run in order. A changeset is atomic: when one of its requests fails, the changes of
the others are undone and only the failure is answered. Without
``Prefer: odata.continue-on-error`` the batch stops at the first failure; with it, every
request outside a changeset runs. More than 1,000 requests are refused.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from plantsync.connectors import multipart

if TYPE_CHECKING:
    from plantsync.sandbox.dynamics.app import Answer, DynamicsSandbox

API = "/api/data/v9.2/"
MAX_REQUESTS = 1000


def run_batch(
    sandbox: DynamicsSandbox, origin: str, content_type: str, body: bytes, *, prefer: str
) -> tuple[int, dict[str, str], bytes]:
    """Execute a ``$batch``; returns status, headers and the multipart answer."""
    try:
        items = _parse(content_type, body)
    except multipart.MultipartError as exc:
        return _error(400, "0x80048d19", f"The batch request is malformed: {exc}")
    if sum(len(i) if isinstance(i, list) else 1 for i in items) > MAX_REQUESTS:
        return _error(
            400, "0x8005f103", f"The number of requests in a batch exceeds {MAX_REQUESTS}."
        )
    continue_on_error = "odata.continue-on-error" in prefer
    answers: list[Answer | list[Answer]] = []
    for item in items:
        if isinstance(item, list):
            result = _changeset(sandbox, origin, item)
            answers.append(result)
            failed = len(result) == 1 and result[0].status >= 400
        else:
            answer = sandbox.dispatch(*_call(item, origin))
            answers.append(answer)
            failed = answer.status >= 400
        if failed and not continue_on_error:
            break
    content, media_type = multipart.build(
        [_render(a) for a in answers], boundary=multipart.new_boundary("batchresponse")
    )
    return 200, {"Content-Type": media_type, "OData-Version": "4.0"}, content


def _changeset(sandbox: DynamicsSandbox, origin: str, parts: list[multipart.Part]) -> list[Answer]:
    store = sandbox.store
    version = store.begin()
    try:
        answers = []
        for part in parts:
            answer = sandbox.dispatch(*_call(part, origin))
            if answer.status >= 400:
                store.rollback(version)
                return [answer]
            answers.append(answer)
        return answers
    finally:
        store.end()


def _call(part: multipart.Part, origin: str) -> tuple[str, str, str, str, dict[str, str], bytes]:
    request = multipart.parse_request(part.body)
    parts = urlsplit(request.url)
    path = parts.path
    path = path[path.index(API) + len(API) :] if API in path else path.lstrip("/")
    return request.method, origin, path, parts.query, dict(request.headers), request.body


def _parse(content_type: str, body: bytes) -> list[multipart.Part | list[multipart.Part]]:
    items: list[multipart.Part | list[multipart.Part]] = []
    for part in multipart.split(content_type, body):
        items.append(multipart.split(part.content_type, part.body) if part.is_multipart else part)
    if not items:
        raise multipart.MultipartError("no parts")
    return items


def _render(answer: Answer | list[Answer]) -> multipart.Part:
    if isinstance(answer, list):
        return multipart.nested(
            [_render(a) for a in answer], boundary=multipart.new_boundary("changesetresponse")
        )
    headers = {"OData-Version": "4.0", **answer.headers}
    if answer.body is not None:
        headers["Content-Type"] = "application/json; odata.metadata=minimal"
    return multipart.http_response(multipart.Response(answer.status, headers, answer.content()))


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"Content-Type": "application/json"}, body
