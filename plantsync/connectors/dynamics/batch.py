"""Dataverse ``$batch``: multipart/mixed requests and responses (OData 4.0, 11.7).

Each record goes as its own request *outside* any changeset, with
``Prefer: odata.continue-on-error`` on the batch, so one record's failure is that record's
answer and the others still run (the preference has no effect inside a changeset, where
one failure rolls back the whole set). A batch carries at most 1,000 requests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from plantsync.connectors.dynamics.client import MAX_BATCH_REQUESTS, DataverseError, parse_error

CRLF = b"\r\n"


@dataclass(frozen=True)
class BatchPart:
    """One request inside a batch (``url`` absolute, or relative to the service root)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BatchAnswer:
    """One response inside a batch answer."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None

    def error(self) -> DataverseError:
        return parse_error(self.status, self.body)


def build_batch(parts: Sequence[BatchPart], *, boundary: str | None = None) -> tuple[bytes, str]:
    """The multipart body of a ``$batch`` and its ``Content-Type``.

    Raises:
        ValueError: more than 1,000 requests (Dataverse refuses such a batch).
    """
    if len(parts) > MAX_BATCH_REQUESTS:
        raise ValueError(f"a $batch carries at most {MAX_BATCH_REQUESTS} requests")
    boundary = boundary or f"batch_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for part in parts:
        chunks += [
            b"--" + boundary.encode(),
            b"Content-Type: application/http",
            b"Content-Transfer-Encoding: binary",
            b"",
            f"{part.method} {part.url} HTTP/1.1".encode(),
        ]
        headers = dict(part.headers)
        payload = b""
        if part.body is not None:
            headers.setdefault("Content-Type", "application/json; type=entry")
            payload = json.dumps(part.body, separators=(",", ":")).encode("utf-8")
        chunks += [f"{k}: {v}".encode() for k, v in headers.items()]
        chunks += [b"", payload]
    chunks += [b"--" + boundary.encode() + b"--", b""]
    return CRLF.join(chunks), f"multipart/mixed; boundary={boundary}"


def parse_batch(content_type: str, body: bytes) -> list[BatchAnswer]:
    """The responses of a ``$batch`` answer, in order (changeset answers flattened).

    Raises:
        ValueError: the answer is not a multipart body we can read.
    """
    boundary = _boundary(content_type)
    answers: list[BatchAnswer] = []
    for part in _split(body, boundary):
        headers, content = _split_head(part)
        inner_type = headers.get("content-type", "")
        if inner_type.lower().startswith("multipart/mixed"):
            answers += parse_batch(inner_type, content)
        else:
            answers.append(_http_message(content))
    return answers


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    raise ValueError(f"no multipart boundary in {content_type!r}")


def _split(body: bytes, boundary: str) -> list[bytes]:
    delimiter = b"--" + boundary.encode()
    pieces = body.split(delimiter)
    parts: list[bytes] = []
    for piece in pieces[1:]:  # pieces[0] is the preamble
        if piece.startswith(b"--"):
            break  # the closing delimiter
        parts.append(piece.strip(b"\r\n"))
    return parts


def _split_head(block: bytes) -> tuple[httpx.Headers, bytes]:
    normalized = block.replace(b"\r\n", b"\n")
    if normalized.startswith(b"\n"):  # no headers at all
        return httpx.Headers(), normalized[1:]
    head, _, rest = normalized.partition(b"\n\n")
    headers = httpx.Headers()
    for line in head.decode("latin-1").split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return headers, rest


def _http_message(block: bytes) -> BatchAnswer:
    normalized = block.replace(b"\r\n", b"\n").lstrip(b"\n")
    status_line, _, rest = normalized.partition(b"\n")
    fields = status_line.decode("latin-1").split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise ValueError(f"not an HTTP response in a batch part: {status_line[:80]!r}")
    headers, body = _split_head(rest)
    return BatchAnswer(status=int(fields[1]), headers=headers, body=body.strip(b"\n"))
