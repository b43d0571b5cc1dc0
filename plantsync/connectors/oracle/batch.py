"""Oracle ADF REST batches: ``application/vnd.oracle.adf.batch+json`` ``{"parts": [...]}``.

The server applies a batch all-or-none: one refused part and nothing is applied (the 400
answer names the part). A successful answer carries each part's payload under its ``id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plantsync.connectors.oracle.codec import PROVIDER
from plantsync.errors import UnavailableError


@dataclass(frozen=True)
class BatchPart:
    """One part of a batch request; ``path`` is relative to the version root."""

    id: str
    path: str
    operation: str  # create | update | upsert
    payload: Mapping[str, Any]


def batch_body(parts: Sequence[BatchPart]) -> dict[str, Any]:
    """The JSON body of a batch request of ``parts``."""
    return {
        "parts": [
            {"id": p.id, "path": p.path, "operation": p.operation, "payload": dict(p.payload)}
            for p in parts
        ]
    }


def batch_payloads(answer: Any, parts: Iterable[BatchPart]) -> dict[str, dict[str, Any]]:
    """Each part's answered payload by part id.

    Raises:
        UnavailableError: the answer is not a batch answer holding every part.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("parts"), list):
        raise UnavailableError("Oracle answered the batch without parts", provider=PROVIDER)
    out: dict[str, dict[str, Any]] = {}
    for part in answer["parts"]:
        if isinstance(part, Mapping) and isinstance(part.get("payload"), Mapping):
            out[str(part.get("id"))] = dict(part["payload"])
    missing = [p.id for p in parts if p.id not in out]
    if missing:
        raise UnavailableError(
            f"Oracle's batch answer lacks part(s) {', '.join(missing)}", provider=PROVIDER
        )
    return out
