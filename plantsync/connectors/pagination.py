"""Paginators: one strategy object per paging scheme, each with loop detection.

A paginator looks at a page's decoded body and says where the next page is: a full URL
(server-driven paging) or query parameters (client-driven paging), or None at the end.
Each remembers what it has seen and raises ``PaginationLoopError`` when a server hands back
a link it already gave, or keeps sending empty pages with a next link, instead of looping for
ever. A paginator serves one pull: make a new one for the next.

Typical use::

    paginator = OffsetHasMorePaginator(limit=500)
    request = first_request
    while request is not None:
        body = fetch(request)
        yield records(body)
        nxt = paginator.next_page(body, page_len=len(records(body)))
        request = None if nxt is None else request_for(nxt)
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plantsync.errors import UnavailableError


class PaginationLoopError(UnavailableError):
    """The server returned a next-page marker it had already returned."""


@dataclass(frozen=True)
class NextPage:
    url: str | None = None  # absolute or relative URL to GET as-is
    params: Mapping[str, Any] | None = None  # or: the same request with these params replaced


class Paginator(abc.ABC):
    """One pull's paging state. ``max_empty_pages``: how many empty pages in a row, each with
    a next link, are tolerated before the server is deemed to loop."""

    max_empty_pages = 5

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._empty_in_row = 0
        self.pages = 0

    @abc.abstractmethod
    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        """Where the page after ``body`` (which held ``page_len`` records) is; None at the end.

        Raises:
            PaginationLoopError: the server repeats itself instead of moving on.
        """

    def _check_loop(self, marker: str, page_len: int) -> None:
        self.pages += 1
        if marker in self._seen:
            raise PaginationLoopError(
                f"the server repeated the next-page marker {marker!r} after {self.pages} pages"
            )
        self._seen.add(marker)
        self._empty_in_row = self._empty_in_row + 1 if page_len == 0 else 0
        if self._empty_in_row > self.max_empty_pages:
            raise PaginationLoopError(
                f"the server sent {self._empty_in_row} empty pages in a row, each with a next link"
            )


class ODataV2NextPaginator(Paginator):
    """SAP Gateway server-driven paging: ``d.__next`` (carrying ``$skiptoken``).

    When the server does not page (no ``__next``), falls back to ``$top``/``$skip`` while
    full pages keep coming, if ``client_page_size`` is set.
    """

    def __init__(self, client_page_size: int | None = None) -> None:
        super().__init__()
        self.client_page_size = client_page_size
        self._skip = 0
        self._server_paged = False

    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        d = body.get("d", body)
        nxt = d.get("__next") if isinstance(d, Mapping) else None
        if nxt is not None and not isinstance(nxt, str):
            raise PaginationLoopError(f"the server's __next is not a link: {nxt!r}")
        if nxt:
            self._server_paged = True
            self._check_loop(nxt, page_len)
            return NextPage(url=nxt)
        if self._server_paged or not self.client_page_size or page_len < self.client_page_size:
            return None
        self._skip += page_len
        self._check_loop(f"$skip={self._skip}", page_len)
        return NextPage(params={"$skip": str(self._skip), "$top": str(self.client_page_size)})


class ODataNextLinkPaginator(Paginator):
    """OData v4 / Dataverse: ``@odata.nextLink`` to the end (no ``$skip`` in Dataverse)."""

    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        nxt = body.get("@odata.nextLink")
        if nxt is not None and not isinstance(nxt, str):
            raise PaginationLoopError(f"the server's @odata.nextLink is not a link: {nxt!r}")
        if not nxt:
            return None
        self._check_loop(nxt, page_len)
        return NextPage(url=nxt)


class OffsetHasMorePaginator(Paginator):
    """Oracle REST: ``hasMore`` with ``offset``/``limit`` (always send ``limit``)."""

    def __init__(self, limit: int, *, offset: int = 0) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
        self._offset = offset

    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        if not body.get("hasMore"):
            return None
        if page_len == 0:
            raise PaginationLoopError("the server said hasMore but sent an empty page")
        # The server may cap ``limit`` below ours: advance by what it actually sent.
        self._offset += page_len
        self._check_loop(f"offset={self._offset}", page_len)
        return NextPage(params={"offset": str(self._offset), "limit": str(self.limit)})
