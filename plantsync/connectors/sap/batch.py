"""OData V2 ``$batch``: multipart/mixed bodies out, and back into one response per request.

Every changeset is all-or-nothing on the server: when one of its changes fails, the server
answers the whole changeset with that single error response. We send one record per
changeset (plus its companion requests, e.g. a cancellation or a status function import),
so one record's failure is exactly that record's error -- and servers that allow only one
change per changeset are served by sending companions in their own batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plantsync.connectors import multipart
from plantsync.connectors.base import Resource
from plantsync.errors import ERPConfigurationError, UnavailableError

# Changesets per $batch. SAP Gateway sets no maximum; a $batch is processed in one work
# process and must answer within the ICM processing timeout (60 s by default), so a batch
# stays moderate. 100 is also the slice the sync engine hands to one push: a slice of new
# orders costs one $batch of creates and one of their status chains.
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a changeset; ``url`` is relative to the service root."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


BatchResponse = multipart.Response
"""One response of a ``$batch`` answer (header names lower-cased)."""


def build_batch(changesets: Sequence[Sequence[BatchRequest]]) -> tuple[str, bytes]:
    """The ``$batch`` body for ``changesets``; returns (content type, body)."""
    parts = [
        multipart.nested(
            [_http_part(req, content_id=index) for index, req in enumerate(changes, start=1)],
            boundary=multipart.new_boundary("changeset"),
        )
        for changes in changesets
    ]
    body, content_type = multipart.build(parts, boundary=multipart.new_boundary("batch"))
    return content_type, body


def _http_part(req: BatchRequest, *, content_id: int) -> multipart.Part:
    body = multipart.json_body(req.body) if req.body is not None else b""
    headers = {"Accept": "application/json"}
    if req.body is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
    headers.update(req.headers)
    request = multipart.Request(req.method, req.url, headers=headers, body=body)
    return multipart.http_request(request, content_id=content_id)


def parse_batch(content_type: str, body: bytes, *, expected: int) -> list[list[BatchResponse]]:
    """The responses of a ``$batch`` answer: one list per changeset, in order.

    A changeset the server rejected is a list holding its one error response.

    Raises:
        UnavailableError: the body is not the multipart answer of ``expected`` changesets.
    """
    try:
        result = [_changeset(part) for part in multipart.split(content_type, body)]
    except multipart.MultipartError as exc:
        raise UnavailableError(f"the $batch answer is unreadable: {exc}", provider="sap") from exc
    if len(result) != expected:
        raise UnavailableError(
            f"the $batch answer holds {len(result)} parts for {expected} changesets",
            provider="sap",
        )
    return result


def _changeset(part: multipart.Part) -> list[BatchResponse]:
    if part.is_multipart:
        return [_response(p) for p in multipart.split(part.content_type, part.body)]
    return [_response(part)]


def _response(part: multipart.Part) -> BatchResponse:
    return multipart.parse_response(part.body)


def batch_size(resource: Resource, entity: str) -> int:
    """Changesets per ``$batch``: the resource's ``batch_size`` option, else the default.

    Raises:
        ERPConfigurationError: the option is not a whole number >= 1.
    """
    raw = resource.options.get("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ERPConfigurationError(
            f"options.batch_size of {resource.path} must be a whole number >= 1, not {raw!r}",
            provider="sap",
            entity=entity,
        )
    return raw
