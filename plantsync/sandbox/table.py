"""In-memory tables for the sandbox ERPs: rows that report their changes, and what is derived
from them (sorted views, lookups, counts) kept up to date through those reports.

A provider keeps each entity's rows in a ``Rows`` (a dict of key -> ``Row``). Every change -
a row added, replaced or removed, or a field of a stored row set - is reported to the table
*before* it happens, wherever it comes from: the provider's own writes, a rollback, or a test
that edits a stored row in place. The table hands the report to each derived structure, which
notes what the row contributed before the change and brings itself up to date the next time it
is read. So the first request of a query filters and sorts the table once, and every later
page of it costs O(log n + page size) however large the table is (a write in between costs
each view a binary search and a list insertion), instead of filtering and sorting every row
for every page.

- ``View``: the rows a predicate keeps, in the order of an entry function (a sorted list of
  entries, one per row; the caller makes entries unique, e.g. by ending them with the row's
  insertion sequence ``Row.seq`` and key). Views are cached per query (``Rows.view``).
- ``derived.py``: ``Lookup``: value -> keys (user keys that must stay unique, fields looked up by value),
  ``Counter``: value -> how many rows (numbers counted per group), ``Outliers``: the few rows
  a rule that holds for nearly all rows rejects (rows whose fields no longer match their key).

Insertion order is kept as a dict keeps it (``Row.seq``; replacing a key's row keeps its
place), so "ties in insertion order" stays what it was with plain dicts.
"""

from __future__ import annotations

import bisect
import copy
import gc
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import ContextDecorator
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
MAX_VIEWS = 8  # cached views per table; each holds one entry per row it keeps ...
VIEW_ENTRIES_PER_ROW = 3  # ... and all of them together a few entries per row of the table


class generating(ContextDecorator):
    """Pauses the cyclic garbage collector while rows are generated: they are all kept, so
    its passes over millions of new rows would free nothing (about a fifth of the time)."""

    def __enter__(self) -> generating:
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._was_enabled:
            gc.enable()


class Row(dict[str, Any]):
    """A row as stored: a plain dict to read, that reports changes to its table.

    ``copy.copy``/``copy.deepcopy`` give a detached row (not in any table) with the same
    fields; storing it in a table attaches it.
    """

    __slots__ = ("_key", "_table", "seq")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table: Rows[Any] | None = None
        self._key: Any = None
        self.seq = 0

    def _change(self, apply: Callable[[], T]) -> T:
        table = self._table
        if table is None:
            return apply()
        with table.lock:
            table._note(self._key)
            return apply()

    def __setitem__(self, name: str, value: Any) -> None:
        self._change(lambda: dict.__setitem__(self, name, value))

    def __delitem__(self, name: str) -> None:
        self._change(lambda: dict.__delitem__(self, name))

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._change(lambda: dict.update(self, *args, **kwargs))

    def __ior__(self, other: Any) -> Row:  # type: ignore[override,misc]
        self.update(other)
        return self

    def pop(self, name: str, *default: Any) -> Any:
        return self._change(lambda: dict.pop(self, name, *default))

    def popitem(self) -> tuple[str, Any]:
        return self._change(lambda: dict.popitem(self))

    def setdefault(self, name: str, default: Any = None) -> Any:
        return self._change(lambda: dict.setdefault(self, name, default))

    def clear(self) -> None:
        self._change(lambda: dict.clear(self))

    def __copy__(self) -> Row:
        return type(self)(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Row:
        return type(self)({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def __reduce__(self) -> Any:
        return (type(self), (dict(self),))


class Derived(ABC, Generic[K]):
    """Something kept from a table's rows."""

    def __init__(self, rows: Rows[K]) -> None:
        self.rows = rows

    @abstractmethod
    def note(self, key: K, row: Row | None) -> None:
        """Called before the row of ``key`` changes, with the row as it still is (None: the
        key is new); keep what it contributed, to take it back in ``sync``."""

    @abstractmethod
    def sync(self) -> None:
        """Catch up on the rows noted since the last call."""


class Rows(dict[K, Row]):
    """A table: key -> ``Row``, telling its views, lookups and counters about every change.

    Store plain dicts freely: they are kept as copies of the table's ``row_type`` (a detached
    row of that type is kept as is). ``lock`` guards a change and the derived structures'
    catching up; hold it to read the table from another thread while the server may write.
    """

    def __init__(
        self, items: Iterable[tuple[K, Mapping[str, Any]]] = (), *, row_type: type[Row] = Row
    ) -> None:
        super().__init__()
        self.row_type = row_type
        self.lock = threading.RLock()
        self._next_seq = 0
        self._views: OrderedDict[Hashable, View[K]] = OrderedDict()
        self._derived: dict[Hashable, Derived[K]] = {}
        self.load(items)

    # -- changes -------------------------------------------------------------------------

    def load(self, items: Iterable[tuple[K, Mapping[str, Any]]]) -> None:
        """Add many rows at once (generation); nothing derived may exist yet."""
        assert not self._views and not self._derived, "load() is for a new table"
        for key, value in items:
            self._store(key, value)

    def put(self, key: K, value: Mapping[str, Any]) -> Row:
        """Store ``value`` under ``key``; returns the stored row."""
        with self.lock:
            self._note(key)
            return self._store(key, value)

    def __setitem__(self, key: K, value: Mapping[str, Any]) -> None:
        self.put(key, value)

    def _store(self, key: K, value: Mapping[str, Any]) -> Row:
        if isinstance(value, Row) and type(value) is self.row_type and value._table is None:
            row = value
        else:
            row = self.row_type(value)
        old = dict.get(self, key)
        if old is not None:
            row.seq = old.seq  # a dict keeps a replaced key in its place
            old._table = None
        else:
            row.seq = self._next_seq
            self._next_seq += 1
        row._table, row._key = self, key
        dict.__setitem__(self, key, row)
        return row

    def __delitem__(self, key: K) -> None:
        with self.lock:
            if key in self:
                self._note(key)
            dict.__getitem__(self, key)._table = None
            dict.__delitem__(self, key)

    def pop(self, key: K, *default: Any) -> Any:
        with self.lock:
            if key not in self:
                return dict.pop(self, key, *default)
            self._note(key)
            row = dict.pop(self, key)
            row._table = None
            return row

    def popitem(self) -> tuple[K, Row]:
        with self.lock:
            if not self:
                raise KeyError("popitem(): the table is empty")
            key = next(reversed(self.keys()))
            return key, self.pop(key)

    def setdefault(self, key: K, default: Mapping[str, Any] | None = None) -> Row:
        with self.lock:
            if key in self:
                return dict.__getitem__(self, key)
            return self.put(key, default if default is not None else {})

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self.put(key, value)

    def __ior__(self, other: Any) -> Rows[K]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        with self.lock:
            for key in list(self):
                self.pop(key)

    def __copy__(self) -> Rows[K]:
        return Rows(((k, copy.copy(v)) for k, v in self.items()), row_type=self.row_type)

    def __deepcopy__(self, memo: dict[int, Any]) -> Rows[K]:
        items = ((k, copy.deepcopy(v, memo)) for k, v in self.items())
        return Rows(items, row_type=self.row_type)

    def __reduce__(self) -> Any:
        return (_rows, (list(self.items()), self.row_type))

    def _note(self, key: K) -> None:
        if not self._views and not self._derived:
            return
        row = dict.get(self, key)
        for query, view in list(self._views.items()):
            try:
                view.note(key, row)
            except Exception:  # a view whose query fails on this row: built again when asked
                del self._views[query]
        for derived in self._derived.values():
            derived.note(key, row)

    # -- what is derived -----------------------------------------------------------------

    def view(self, query: Hashable, build: Callable[[], View[K]]) -> View[K]:
        """The cached view of ``query`` (made by ``build`` when missing), up to date.

        Raises:
            Whatever the view's predicate or entry function raises on a row; the view is
            then dropped, so the next request meets the same error.
        """
        with self.lock:
            found = self._views.pop(query, None)  # a view that fails below stays dropped
            if found is None:
                found = build()
                found.build()
            else:
                found.sync()
            self._views[query] = found  # most recently used last
            # The least recently used go first, past MAX_VIEWS or past a few entries per row.
            budget = VIEW_ENTRIES_PER_ROW * len(self) + 10_000
            while len(self._views) > 1 and (
                len(self._views) > MAX_VIEWS or sum(len(v) for v in self._views.values()) > budget
            ):
                self._views.popitem(last=False)
            return found

    def derived(self, name: Hashable, build: Callable[[], Derived[K]]) -> Derived[K]:
        """The lookup or counter ``name`` (made by ``build`` on first use), up to date."""
        with self.lock:
            found = self._derived.get(name)
            if found is None:
                found = build()
                self._derived[name] = found
            found.sync()
            return found


def _rows(items: list[tuple[Any, Row]], row_type: type[Row]) -> Rows[Any]:
    return Rows(items, row_type=row_type)


class View(Derived[K]):
    """The rows ``keep`` accepts, ordered by ``entry``: a sorted list with one entry per row.

    Args:
        rows: the table.
        keep: whether a row belongs to the view.
        entry: the row's entry (it orders the view); entries of different rows must differ.
        key_of: the row's key back from its entry.
    """

    def __init__(
        self,
        rows: Rows[K],
        *,
        keep: Callable[[Row], bool],
        entry: Callable[[K, Row], Any],
        key_of: Callable[[Any], K],
    ) -> None:
        super().__init__(rows)
        self.keep, self.entry, self.key_of = keep, entry, key_of
        self.entries: list[Any] = []
        self._pending: dict[K, Any] = {}

    def _entry_of(self, key: K, row: Row | None) -> Any:
        return self.entry(key, row) if row is not None and self.keep(row) else None

    def build(self) -> None:
        keep, entry = self.keep, self.entry
        kept = [(k, r) for k, r in self.rows.items() if keep(r)]
        self.entries = sorted(entry(k, r) for k, r in kept)
        self._pending = {}

    def note(self, key: K, row: Row | None) -> None:
        if key not in self._pending:
            self._pending[key] = self._entry_of(key, row)

    def sync(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        if len(pending) * 16 > len(self.entries) + 64:
            self.build()  # many changes: sorting again is cheaper than moving entries
            return
        entries = self.entries
        for key, old in pending.items():
            if old is not None:
                i = bisect.bisect_left(entries, old)
                if i < len(entries) and entries[i] == old:
                    del entries[i]
            new = self._entry_of(key, dict.get(self.rows, key))
            if new is not None:
                bisect.insort(entries, new)

    def __len__(self) -> int:
        return len(self.entries)

    def window(self, start: int, stop: int) -> list[Row]:
        """The rows at positions ``start:stop`` of the view."""
        rows, key_of = self.rows, self.key_of
        with rows.lock:
            return [dict.__getitem__(rows, key_of(e)) for e in self.entries[start:stop]]

    def as_sequence(self) -> ViewRows:
        return ViewRows(self)


class ViewRows(Sequence[Row]):
    """A view's rows as a read-only sequence (slicing costs the slice, not the table)."""

    def __init__(self, view: View[Any]) -> None:
        self.view = view

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.view))
            if step == 1:
                return self.view.window(start, stop)
            return [self[i] for i in range(start, stop, step)]
        position = index + len(self.view) if index < 0 else index
        if not 0 <= position < len(self.view):
            raise IndexError(index)
        return self.view.window(position, position + 1)[0]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.view.window(0, len(self.view)))
