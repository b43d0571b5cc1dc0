"""What the sandbox derives from a table besides views (``table.py``), kept current through the
table's change reports: ``Lookup`` (value -> keys), ``Counter`` (value -> how many rows) and
``Outliers`` (the few rows a rule that holds for nearly all rows rejects).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from plantsync.sandbox.table import Derived, K, Row, Rows

_ABSENT = object()


class Lookup(Derived[K]):
    """``value(row)`` -> the keys of the rows with that value (None values are left out)."""

    def __init__(self, rows: Rows[K], value: Callable[[Row], Hashable]) -> None:
        super().__init__(rows)
        self.value = value
        self._keys: dict[Hashable, tuple[K, ...]] = {}  # mostly one key per value: small
        self._pending: dict[K, Hashable] = {}
        for key, row in rows.items():
            self._add(key, row)

    def _add(self, key: K, row: Row | None) -> None:
        if row is not None and (v := self.value(row)) is not None:
            self._keys[v] = (*self._keys.get(v, ()), key)

    def note(self, key: K, row: Row | None) -> None:
        if key not in self._pending:
            self._pending[key] = None if row is None else self.value(row)

    def sync(self) -> None:
        pending, self._pending = self._pending, {}
        for key, old in pending.items():
            if old is not None and key in (keys := self._keys.get(old, ())):
                rest = tuple(k for k in keys if k != key)
                if rest:
                    self._keys[old] = rest
                else:
                    del self._keys[old]
            self._add(key, dict.get(self.rows, key))

    def keys_of(self, value: Hashable) -> list[K]:
        """The keys of the rows with ``value``, in insertion order."""
        keys = self._keys.get(value, ())
        return sorted(keys, key=lambda k: dict.__getitem__(self.rows, k).seq)


class Counter(Derived[K]):
    """``value(key, row)`` -> how many rows have it."""

    def __init__(self, rows: Rows[K], value: Callable[[K, Row], Hashable]) -> None:
        super().__init__(rows)
        self.value = value
        self._counts: dict[Hashable, int] = {}
        self._pending: dict[K, object] = {}
        for key, row in rows.items():
            self._add(key, row)

    def _add(self, key: K, row: Row | None) -> None:
        if row is not None:
            self._step(self.value(key, row), 1)

    def _step(self, value: Hashable, step: int) -> None:
        count = self._counts.get(value, 0) + step
        if count:
            self._counts[value] = count
        else:
            self._counts.pop(value, None)

    def note(self, key: K, row: Row | None) -> None:
        if key not in self._pending:
            self._pending[key] = _ABSENT if row is None else self.value(key, row)

    def sync(self) -> None:
        pending, self._pending = self._pending, {}
        for key, old in pending.items():
            if old is not _ABSENT:
                self._step(old, -1)
            self._add(key, dict.get(self.rows, key))

    def count(self, value: Hashable) -> int:
        return self._counts.get(value, 0)


class Outliers(Derived[K]):
    """The keys of the rows ``fits(key, row)`` rejects: a set, for a rule nearly all rows keep."""

    def __init__(self, rows: Rows[K], fits: Callable[[K, Row], bool]) -> None:
        super().__init__(rows)
        self.fits = fits
        self.keys: set[K] = {key for key, row in rows.items() if not fits(key, row)}
        self._pending: set[K] = set()

    def note(self, key: K, row: Row | None) -> None:
        self._pending.add(key)

    def sync(self) -> None:
        pending, self._pending = self._pending, set()
        for key in pending:
            row = dict.get(self.rows, key)
            if row is not None and not self.fits(key, row):
                self.keys.add(key)
            else:
                self.keys.discard(key)
