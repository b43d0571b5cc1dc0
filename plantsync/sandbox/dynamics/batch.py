"""``$batch`` for the Dataverse sandbox: multipart/mixed in, multipart/mixed out.

Requests run in order. A changeset is atomic: when one of its requests fails, the changes of
the others are undone and only the failure is answered. Without
``Prefer: odata.continue-on-error`` the batch stops at the first failure; with it, every
request outside a changeset runs. More than 1,000 requests are refused.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from plantsync.sandbox.dynamics.app import Answer, DynamicsSandbox

API = "/api/data/v9.2/"
MAX_REQUESTS = 1000
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    412: "Precondition Failed",
    405: "Method Not Allowed",
}


def run_batch(
    sandbox: DynamicsSandbox, origin: str, content_type: str, body: bytes, *, prefer: str
) -> tuple[int, dict[str, str], bytes]:
    """Execute a ``$batch``; returns status, headers and the multipart answer."""
    try:
        items = _parse(content_type, body)
    except ValueError as exc:
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
    boundary = f"batchresponse_{uuid.uuid4()}"
    return (
        200,
        {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"},
        _render(answers, boundary),
    )


def _changeset(sandbox: DynamicsSandbox, origin: str, parts: list[bytes]) -> list[Answer]:
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


def _call(part: bytes, origin: str) -> tuple[str, str, str, str, dict[str, str], bytes]:
    text = part.replace(b"\r\n", b"\n")
    _, _, http = text.partition(b"\n\n")  # MIME headers of the part
    request_line, _, rest = http.lstrip(b"\n").partition(b"\n")
    head, _, payload = (
        rest.partition(b"\n\n") if not rest.startswith(b"\n") else (b"", b"", rest[1:])
    )
    method, url, *_ = request_line.decode("latin-1").split(" ")
    headers = {}
    for line in head.decode("latin-1").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    parts = urlsplit(url)
    path = parts.path
    path = path[path.index(API) + len(API) :] if API in path else path.lstrip("/")
    return method.upper(), origin, path, parts.query, headers, payload.strip()


def _parse(content_type: str, body: bytes) -> list[bytes | list[bytes]]:
    boundary = _boundary(content_type)
    items: list[bytes | list[bytes]] = []
    for part in _split(body, boundary):
        head = part.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("latin-1").lower()
        if "multipart/mixed" in head:
            inner_type = next(
                line.split(":", 1)[1]
                for line in head.split("\n")
                if line.startswith("content-type")
            )
            inner = part.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
            items.append(_split(inner, _boundary(inner_type)))
        else:
            items.append(part)
    return items


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    raise ValueError("no boundary in Content-Type")


def _split(body: bytes, boundary: str) -> list[bytes]:
    pieces = body.split(b"--" + boundary.encode())
    out = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        out.append(piece.strip(b"\r\n"))
    if not out:
        raise ValueError("no parts")
    return out


def _render(answers: list[Any], boundary: str) -> bytes:
    chunks: list[bytes] = []
    for answer in answers:
        if isinstance(answer, list):
            inner = f"changesetresponse_{uuid.uuid4()}"
            content = _render(answer, inner)
            chunks += [
                f"--{boundary}".encode(),
                f"Content-Type: multipart/mixed; boundary={inner}".encode(),
                b"",
                content,
            ]
            continue
        chunks += [
            f"--{boundary}".encode(),
            b"Content-Type: application/http",
            b"Content-Transfer-Encoding: binary",
            b"",
        ]
        chunks.append(f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, '')}".encode())
        headers = {"OData-Version": "4.0", **answer.headers}
        if answer.body is not None:
            headers["Content-Type"] = "application/json; odata.metadata=minimal"
        chunks += [f"{k}: {v}".encode() for k, v in headers.items()]
        chunks += [b"", answer.content()]
    chunks += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(chunks)


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"Content-Type": "application/json"}, body
