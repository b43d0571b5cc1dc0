"""Read-ahead of a pull: the next pages arrive while the current one is written.

An inbound run spends its time in two places that do not need each other: waiting for the ERP
to produce the next page, and mapping and writing the current one. ``read_ahead`` runs the
connector's page iterator in a helper thread, at most ``depth`` pages ahead, so the two
overlap. Pages come out in order, exactly as the iterator yields them; an error the iterator
raises comes out at the position it happened, after the pages before it.

The helper thread touches only the iterator (the connector's HTTP client), never the
database, and it is the only thread that advances the iterator. When the consumer stops early
(an error, a cancelled run), the helper stops before fetching another page and closes the
iterator itself; a request already on the wire is left to finish within the connector's
timeout, and whatever it returns is dropped.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

#: Pages fetched ahead of the one being written; two keeps the ERP busy without holding
#: more than a few pages in memory.
DEPTH = 2


class _End:
    """The iterator finished (``error`` None) or raised ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


@contextmanager
def read_ahead(pages: Iterable[T], *, depth: int = DEPTH) -> Iterator[Iterator[T]]:
    """``pages``, fetched up to ``depth`` items ahead in a helper thread (see the module
    docstring). Use as ``with read_ahead(it) as pages: for page in pages: ...``."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    ahead: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        # Blocks only while the queue is full; a stopping consumer sets ``stop`` and then
        # drains the queue, so at most one more put goes through before the check below.
        source = iter(pages)
        end = _End()
        try:
            for item in source:
                if stop.is_set():
                    return
                ahead.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            end = _End(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        if not stop.is_set():
            ahead.put(end)

    context = contextvars.copy_context()  # the run's logging context, in the helper too
    helper = threading.Thread(
        target=context.run, args=(produce,), name="plantsync-read-ahead", daemon=True
    )
    helper.start()

    def consume() -> Iterator[T]:
        while True:
            item = ahead.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    try:
        yield consume()
    finally:
        stop.set()
        while True:  # unblock a helper waiting to put
            try:
                ahead.get_nowait()
            except queue.Empty:
                break


__all__ = ["DEPTH", "read_ahead"]
