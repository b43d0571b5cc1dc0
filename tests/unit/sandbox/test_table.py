"""The sandbox's tables: every change reaches the views, lookups and counters derived from
them, and a view catches up on the changed rows only."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plantsync.sandbox.derived import Counter, Lookup
from plantsync.sandbox.table import Row, Rows, View


def table(n: int = 100) -> Rows[int]:
    return Rows((i, {"id": i, "group": i % 7, "score": (i * 37) % 101}) for i in range(n))


class Counting:
    """A view's entry function that counts its calls: (score, seq, key)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, key: int, row: Row) -> tuple[Any, ...]:
        self.calls += 1
        return (row["score"], row.seq, key)


def odd_view(rows: Rows[int], entry: Any) -> View[int]:
    return rows.view(
        "odd",
        lambda: View(rows, keep=lambda r: r["score"] % 2 == 1, entry=entry, key_of=lambda e: e[-1]),
    )


def expected_odd(rows: Rows[int]) -> list[int]:
    kept = [(r["score"], r.seq, k) for k, r in rows.items() if r["score"] % 2 == 1]
    return [k for *_, k in sorted(kept)]


def keys(view: View[int]) -> list[int]:
    return [e[-1] for e in view.entries]


def test_a_view_is_built_once_and_then_catches_up_on_changed_rows_only() -> None:
    rows, entry = table(2000), Counting()
    view = odd_view(rows, entry)
    assert keys(view) == expected_odd(rows)
    built = entry.calls
    assert odd_view(rows, entry) is view and entry.calls == built  # cached: no work

    rows[5]["score"] = 99  # in place, on the stored row
    rows[6].update(score=1)
    rows.pop(7)
    rows[5000] = {"id": 5000, "group": 0, "score": 3}  # a plain dict is stored as a Row
    rows[8] = {"id": 8, "group": 1, "score": 11}  # replacing a row keeps its place
    view = odd_view(rows, entry)

    assert keys(view) == expected_odd(rows)
    assert entry.calls - built <= 2 * 5  # the five changed rows, not the table
    assert rows[8].seq == 8 and rows[5000].seq == 2000


def test_ties_keep_insertion_order_like_a_dict() -> None:
    rows = Rows((k, {"v": 0}) for k in (30, 10, 20))
    view = rows.view(
        "all",
        lambda: View(
            rows, keep=lambda r: True, entry=lambda k, r: (r["v"], r.seq, k), key_of=lambda e: e[-1]
        ),
    )
    assert keys(view) == [30, 10, 20]
    rows.pop(30)
    rows[30] = {"v": 0}  # removed and added again: now last, as in a dict
    rows[10] = {"v": 0}  # replaced: keeps its place
    view = rows.view("all", lambda: pytest.fail("the view is cached"))
    assert keys(view) == list(rows) == [10, 20, 30]


def test_a_copied_row_is_detached_until_stored() -> None:
    rows = table(10)
    copied = copy.deepcopy(rows[3])
    assert type(copied) is Row and copied == rows[3] and copied is not rows[3]
    view = odd_view(rows, Counting())
    copied["score"] = 1  # not in the table: nothing to report
    assert keys(view) == expected_odd(rows)
    rows[42] = copied
    assert rows[42] is copied  # a detached row is stored as it is
    copied["score"] = 2  # ... and now reports its changes
    assert keys(odd_view(rows, Counting())) == expected_odd(rows)
    replaced = rows[42]
    rows[42] = {"score": 5}
    replaced["score"] = 7  # a row no longer stored reports nothing
    assert keys(odd_view(rows, Counting())) == expected_odd(rows)


def test_a_view_whose_query_fails_on_a_new_row_is_dropped_and_fails_again() -> None:
    rows = table(10)

    def keep(row: Row) -> bool:
        return int(row["score"]) > 0

    def build() -> View[int]:
        return View(rows, keep=keep, entry=lambda k, r: (r.seq, k), key_of=lambda e: e[-1])

    assert len(rows.view("q", build)) == 9
    rows[99] = {"score": "not a number"}
    with pytest.raises(ValueError):
        rows.view("q", build)
    with pytest.raises(ValueError):
        rows.view("q", build)
    rows.pop(99)
    assert len(rows.view("q", build)) == 9


def test_only_a_few_views_are_cached_per_table() -> None:
    rows = table(10)
    built: list[int] = []

    def build(n: int) -> View[int]:
        built.append(n)
        return View(
            rows,
            keep=lambda r: r["group"] == n,
            entry=lambda k, r: (r.seq, k),
            key_of=lambda e: e[-1],
        )

    for n in range(12):
        rows.view(n, lambda n=n: build(n))
    rows.view(11, lambda: build(11))  # still cached
    rows.view(0, lambda: build(0))  # evicted, built again
    assert built == [*range(12), 0]


def test_lookup_and_counter_follow_writes() -> None:
    rows = table(30)
    lookup = rows.derived("by-group", lambda: Lookup(rows, lambda r: r.get("group")))
    counter = rows.derived("per-group", lambda: Counter(rows, lambda k, r: r["group"]))
    assert isinstance(lookup, Lookup) and isinstance(counter, Counter)
    assert lookup.keys_of(3) == [3, 10, 17, 24] and counter.count(3) == 4
    rows[10]["group"] = 4
    rows.pop(17)
    rows[1] = {"group": 3}
    rows[100] = {"group": None}
    lookup = rows.derived("by-group", lambda: pytest.fail("kept"))
    counter = rows.derived("per-group", lambda: pytest.fail("kept"))
    assert isinstance(lookup, Lookup) and isinstance(counter, Counter)
    assert lookup.keys_of(3) == [1, 3, 24]  # insertion order
    assert counter.count(3) == 3 and counter.count(4) == 5 and counter.count(None) == 1
    assert lookup.keys_of(None) == []


def test_many_changes_rebuild_the_view() -> None:
    rows, entry = table(200), Counting()
    view = odd_view(rows, entry)
    for k in range(0, 200, 2):
        rows[k]["score"] += 1
    assert keys(odd_view(rows, entry)) == expected_odd(rows)
    assert view.entries == odd_view(rows, entry).entries


def test_cached_views_hold_a_few_entries_per_row_at_most() -> None:
    rows = table(10_000)  # room for four views of the whole table (3 entries a row + 10,000)
    built: list[int] = []

    def build(n: int) -> View[int]:
        built.append(n)
        return View(
            rows,
            keep=lambda r: True,
            entry=lambda k, r: (r["score"] + n, r.seq, k),
            key_of=lambda e: e[-1],
        )

    for n in range(5):
        rows.view(n, lambda n=n: build(n))
    rows.view(4, lambda: build(4))
    rows.view(1, lambda: build(1))  # still cached
    rows.view(0, lambda: build(0))  # the least recently used went first
    assert built == [0, 1, 2, 3, 4, 0]


def test_lookup_keeps_one_tuple_per_value() -> None:
    rows = Rows((i, {"ref": f"R{i}"}) for i in range(5))
    lookup = rows.derived("ref", lambda: Lookup(rows, lambda r: r.get("ref")))
    assert isinstance(lookup, Lookup)
    rows[7] = {"ref": "R2"}
    rows[2]["ref"] = "R9"
    lookup = rows.derived("ref", lambda: pytest.fail("kept"))
    assert isinstance(lookup, Lookup)
    assert (
        lookup.keys_of("R2") == [7] and lookup.keys_of("R9") == [2] and lookup.keys_of("R5") == []
    )
    with pytest.raises(KeyError):
        Rows().popitem()
