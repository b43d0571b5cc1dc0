"""OData V2 ``$batch``: multipart/mixed bodies out, and back into one response per request.

Every changeset is all-or-nothing on the server: when one of its changes fails, the server
answers the whole changeset with that single error response. We send one record per
changeset (plus its companion requests, e.g. a cancellation or a status function import),
so one record's failure is exactly that record's error -- and servers that allow only one
change per changeset are served by sending companions in their own batch.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plantsync.errors import UnavailableError

_CRLF = "\r\n"


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a changeset; ``url`` is relative to the service root."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


def build_batch(changesets: Sequence[Sequence[BatchRequest]]) -> tuple[str, bytes]:
    """The ``$batch`` body for ``changesets``; returns (content type, body)."""
    boundary = f"batch_{uuid.uuid4().hex}"
    lines: list[str] = []
    for changes in changesets:
        cs = f"changeset_{uuid.uuid4().hex}"
        lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={cs}", ""]
        for index, req in enumerate(changes, start=1):
            lines += [f"--{cs}", *_http_part(req, content_id=index)]
        lines += [f"--{cs}--", ""]
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", _CRLF.join(lines).encode("utf-8")


def _http_part(req: BatchRequest, *, content_id: int) -> list[str]:
    body = json.dumps(req.body, separators=(",", ":")) if req.body is not None else ""
    head = [f"{req.method} {req.url} HTTP/1.1", "Accept: application/json"]
    if req.body is not None:
        head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(body.encode('utf-8'))}")
    head += [f"{k}: {v}" for k, v in req.headers.items()]
    return [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        f"Content-ID: {content_id}",
        "",
        *head,
        "",
        body,
    ]


def parse_batch(content_type: str, body: bytes, *, expected: int) -> list[list[BatchResponse]]:
    """The responses of a ``$batch`` answer: one list per changeset, in order.

    A changeset the server rejected is a list holding its one error response.

    Raises:
        UnavailableError: the body is not the multipart answer of ``expected`` changesets.
    """
    parts = _multipart_parts(content_type, body)
    result: list[list[BatchResponse]] = []
    for part_type, payload in parts:
        if part_type.lower().startswith("multipart/mixed"):
            result.append([_http_response(p) for _, p in _multipart_parts(part_type, payload)])
        else:
            result.append([_http_response(payload)])
    if len(result) != expected:
        raise UnavailableError(
            f"the $batch answer holds {len(result)} parts for {expected} changesets",
            provider="sap",
        )
    return result


def _multipart_parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(content type, payload) of each part of a multipart body."""
    boundary = _boundary(content_type)
    delimiter = b"--" + boundary.encode("ascii")
    chunks = body.replace(b"\r\n", b"\n").split(delimiter)
    out: list[tuple[str, bytes]] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the close delimiter
        head, _, payload = chunk.lstrip(b"\n").partition(b"\n\n")
        part_type = ""
        for line in head.decode("utf-8", "replace").split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip().lower() == "content-type":
                part_type = value.strip()
        out.append((part_type, payload.rstrip(b"\n") + b"\n"))
    return out


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value:
            return value.strip().strip('"')
    raise UnavailableError(
        f"the $batch answer is not multipart ({content_type or 'no content type'})",
        provider="sap",
    )


def _http_response(raw: bytes) -> BatchResponse:
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").strip().split("\n")
    status_line = lines[0].split(" ", 2) if lines else []
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise UnavailableError(
            f"a $batch part is not an HTTP response: {lines[0][:80] if lines else ''!r}",
            provider="sap",
        )
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return BatchResponse(status=int(status_line[1]), headers=headers, body=body.strip())
