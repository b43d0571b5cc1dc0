"""Dataverse ``$batch``: multipart/mixed requests and responses (OData 4.0, 11.7).

Each record goes as its own request *outside* any changeset, with
``Prefer: odata.continue-on-error`` on the batch, so one record's failure is that record's
answer and the others still run (the preference has no effect inside a changeset, where
one failure rolls back the whole set). A batch carries at most 1,000 requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from plantsync.connectors import multipart
from plantsync.connectors.dynamics.client import (
    MAX_BATCH_REQUESTS,
    ODATA_HEADERS,
    DataverseClient,
    DataverseError,
    parse_error,
    prefer,
)
from plantsync.connectors.dynamics.codec import PROVIDER
from plantsync.entities import EntityType
from plantsync.errors import UnavailableError


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
    return multipart.build(
        [_http_part(part) for part in parts], boundary=boundary or multipart.new_boundary("batch")
    )


def _http_part(part: BatchPart) -> multipart.Part:
    headers = dict(part.headers)
    payload = b""
    if part.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
        payload = multipart.json_body(part.body)
    return multipart.http_request(multipart.Request(part.method, part.url, headers, payload))


def parse_batch(content_type: str, body: bytes) -> list[BatchAnswer]:
    """The responses of a ``$batch`` answer, in order (changeset answers flattened).

    Raises:
        MultipartError: the answer is not a multipart body we can read.
    """
    answers: list[BatchAnswer] = []
    for part in multipart.split(content_type, body):
        if part.is_multipart:
            answers += parse_batch(part.content_type, part.body)
        else:
            answer = multipart.parse_response(part.body)
            answers.append(BatchAnswer(answer.status, httpx.Headers(answer.headers), answer.body))
    return answers


def send_batch(
    client: DataverseClient, parts: Sequence[BatchPart], *, idempotent: bool, entity: EntityType
) -> list[BatchAnswer]:
    """POST ``parts`` as one ``$batch`` with ``odata.continue-on-error``; the answers in order.

    ``idempotent``: every part may be sent again safely (upserts by key), so a lost answer
    is retried; otherwise a lost answer raises ``AmbiguousWriteError``.

    Raises:
        UnavailableError: the answer could not be read.
        RetriableError, FatalError: the batch could not be sent.
    """
    content, content_type = build_batch(parts)
    headers = {
        **ODATA_HEADERS,
        "Content-Type": content_type,
        "Prefer": prefer(continue_on_error=True),
    }
    request = client.http.build_request(
        "POST", client.root + "$batch", content=content, headers=headers
    )
    response = client.send(request, idempotent=idempotent, entity=entity)
    try:
        return parse_batch(response.headers.get("content-type", ""), response.content)
    except ValueError as exc:
        raise UnavailableError(
            f"the $batch answer could not be read ({exc})",
            provider=PROVIDER,
            entity=entity.value,
        ) from exc
