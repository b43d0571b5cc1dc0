"""multipart/mixed bodies of OData ``$batch`` requests and answers (RFC 2046, OData 4.0 11.7).

One implementation for both sides of the wire: the SAP and Dataverse connectors build
requests and read answers with it, and the sandboxes read requests and build answers.

- ``build(parts)`` -> (body, content type): each ``Part`` is MIME headers plus a payload; a
  payload is an HTTP message (``http_request``/``http_response``) or a nested multipart body
  (a changeset: ``nested(...)``).
- ``split(content_type, body)`` -> the ``Part``s of a multipart body, in order (a nested
  multipart part is left for the caller to ``split`` again).
- ``parse_request(payload)`` / ``parse_response(payload)``: the HTTP message inside an
  ``application/http`` part.

Line ends are CRLF on output; CRLF or bare LF are accepted on input. A body that is not the
multipart we expect raises ``MultipartError`` (a ``ValueError``); callers translate it into
their own error (a connector into ``UnavailableError``, a sandbox into a 400).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CRLF = b"\r\n"
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class MultipartError(ValueError):
    """A body, part or HTTP message that is not what a ``$batch`` carries."""


@dataclass(frozen=True)
class Part:
    """One part of a multipart body: MIME headers (names lower-cased) and the payload."""

    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def is_multipart(self) -> bool:
        return self.content_type.lower().startswith("multipart/")


@dataclass(frozen=True)
class Request:
    """An HTTP request inside a part; ``url`` as written (absolute or relative)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    """An HTTP response inside a part (header names lower-cased)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart content type.

    Raises:
        MultipartError: the content type is not multipart or names no boundary.
    """
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value:
            return value.strip().strip('"')
    raise MultipartError(f"not multipart ({content_type or 'no content type'})")


def new_boundary(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def build(parts: Sequence[Part], *, boundary: str) -> tuple[bytes, str]:
    """A multipart/mixed body of ``parts``; returns (body, content type)."""
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for part in parts:
        chunks.append(delimiter)
        chunks += [_header_line(k, v) for k, v in part.headers.items()]
        chunks += [b"", part.body]
    chunks += [delimiter + b"--", b""]
    return CRLF.join(chunks), f"multipart/mixed; boundary={boundary}"


def nested(parts: Sequence[Part], *, boundary: str) -> Part:
    """A part holding a multipart body of its own (an OData changeset)."""
    body, content_type = build(parts, boundary=boundary)
    return Part(headers={"Content-Type": content_type}, body=body)


def http_request(request: Request, *, content_id: int | None = None) -> Part:
    """An ``application/http`` part carrying ``request``."""
    lines = [f"{request.method} {request.url} HTTP/1.1".encode()]
    lines += [_header_line(k, v) for k, v in request.headers.items()]
    return _http_part(lines, request.body, content_id=content_id)


def http_response(response: Response) -> Part:
    """An ``application/http`` part carrying ``response``."""
    reason = _REASONS.get(response.status, "Error")
    lines = [f"HTTP/1.1 {response.status} {reason}".encode()]
    lines += [_header_line(k, v) for k, v in response.headers.items()]
    return _http_part(lines, response.body, content_id=None)


def json_body(value: Any) -> bytes:
    """The compact JSON a batch part carries."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def split(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart body, in order (the preamble and epilogue dropped).

    Raises:
        MultipartError: ``content_type`` names no boundary.
    """
    delimiter = b"--" + boundary_of(content_type).encode("ascii")
    pieces = body.replace(CRLF, b"\n").split(delimiter)
    parts: list[Part] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # the close delimiter
        parts.append(_part(piece))
    return parts


def parse_request(payload: bytes) -> Request:
    """The HTTP request in an ``application/http`` part's payload.

    Raises:
        MultipartError: the payload does not start with a request line.
    """
    start, headers, body = _message(payload)
    fields = start.split(" ")
    if len(fields) < 2 or not fields[0].isalpha():
        raise MultipartError(f"not an HTTP request: {start[:80]!r}")
    return Request(method=fields[0].upper(), url=fields[1], headers=headers, body=body)


def parse_response(payload: bytes) -> Response:
    """The HTTP response in an ``application/http`` part's payload.

    Raises:
        MultipartError: the payload does not start with a status line.
    """
    start, headers, body = _message(payload)
    fields = start.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise MultipartError(f"not an HTTP response: {start[:80]!r}")
    return Response(status=int(fields[1]), headers=headers, body=body)


def _part(piece: bytes) -> Part:
    text = piece[1:] if piece.startswith(b"\n") else piece  # the delimiter line's end
    if text.startswith(b"\n"):  # no MIME headers at all
        return Part(headers={}, body=text[1:].rstrip(b"\n"))
    head, _, payload = text.partition(b"\n\n")
    return Part(headers=_headers(head), body=payload.rstrip(b"\n"))


def _message(payload: bytes) -> tuple[str, dict[str, str], bytes]:
    text = payload.replace(CRLF, b"\n").lstrip(b"\n")
    start, _, rest = text.partition(b"\n")
    if rest.startswith(b"\n"):  # no headers
        return start.decode("latin-1").strip(), {}, rest[1:].strip()
    head, _, body = rest.partition(b"\n\n")
    return start.decode("latin-1").strip(), _headers(head), body.strip()


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _header_line(name: str, value: str) -> bytes:
    return f"{name}: {value}".encode()


def _http_part(lines: list[bytes], body: bytes, *, content_id: int | None) -> Part:
    headers = {"Content-Type": "application/http", "Content-Transfer-Encoding": "binary"}
    if content_id is not None:
        headers["Content-ID"] = str(content_id)
    return Part(headers=headers, body=CRLF.join([*lines, b"", body]))
