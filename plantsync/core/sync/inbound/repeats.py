"""Records a pull repeats (the overlap, a key on two pages) are handled once: ``dedupe`` drops
those this run already handled with the same content, remembered in ``RecentHashes``.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence

from plantsync.connectors.base import ERPRecord
from plantsync.core.sync.hashing import record_hash


def record_digest(record: ERPRecord) -> str:
    return record_hash({"@deleted": record.deleted, **dict(record.fields)})


class RecentHashes(MutableMapping[str, str]):
    """ERP key -> hash of the records this run handled lately: what ``dedupe`` needs to drop a
    record that a page repeats from the pages just before it (paging overlap), bounded in
    memory whatever the size of the pull — two generations of at most ``size`` keys each (a
    whole run's keys cost ~250 bytes each: 250 MB at 1,000,000 records). A repeat from further
    back is still not written twice: its link holds the same hash, so ``plan`` finds it
    unchanged."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._new: dict[str, str] = {}
        self._old: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key in self._new:
            return self._new[key]
        return self._old[key]

    def __setitem__(self, key: str, digest: str) -> None:
        self._new[key] = digest
        if len(self._new) >= self._size:
            self._old, self._new = self._new, {}

    def __delitem__(self, key: str) -> None:
        found = False
        for generation in (self._new, self._old):
            if key in generation:
                del generation[key]
                found = True
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self._new
        yield from (k for k in self._old if k not in self._new)

    def __len__(self) -> int:  # O(size): not for hot paths
        return len(self._new) + sum(1 for k in self._old if k not in self._new)

    def __bool__(self) -> bool:
        return bool(self._new or self._old)


def dedupe(records: Sequence[ERPRecord], seen: MutableMapping[str, str]) -> list[ERPRecord]:
    """The records of a page, once per key (the last wins), without those already handled in
    this run with the same content."""
    last: dict[str, ERPRecord] = {}
    for record in records:
        last.pop(record.key, None)
        last[record.key] = record
    fresh = []
    for key, record in last.items():
        digest = record_digest(record)
        if seen.get(key) != digest:
            fresh.append(record)
            seen[key] = digest
    return fresh
