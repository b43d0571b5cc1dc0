"""``read_ahead``: pages in order, errors where they happened, a clean stop."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from plantsync.core.sync.prefetch import read_ahead


def test_items_come_out_in_order_and_complete() -> None:
    with read_ahead(iter(range(50)), depth=2) as pages:
        assert list(pages) == list(range(50))


def test_an_error_comes_out_after_the_items_before_it() -> None:
    def pull() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("ERP gone")

    seen = []
    with read_ahead(pull()) as pages, pytest.raises(RuntimeError, match="ERP gone"):
        for page in pages:
            seen.append(page)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source_and_fetches_little_ahead() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def pull() -> Iterator[int]:
        try:
            for n in range(1000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    with read_ahead(pull(), depth=2) as pages:
        for page in pages:
            if page == 3:
                break
    assert closed.wait(timeout=10), "the helper did not close the source"
    # the consumer took 0..3; the helper may have had up to depth + 1 more in hand
    assert len(produced) <= 4 + 3


def test_the_helper_runs_in_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("run", default="none")
    var.set("run-42")

    def pull() -> Iterator[str]:
        yield var.get()

    with read_ahead(pull()) as pages:
        assert list(pages) == ["run-42"]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"), read_ahead(iter([1]), depth=0):
        pass
