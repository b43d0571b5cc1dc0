"""Paginators: one strategy object per paging scheme, each with loop detection.

A paginator looks at a page's decoded body and says where the next page is: a full URL
(server-driven paging) or query parameters (client-driven paging), or None at the end.
Each remembers what it has seen and raises ``PaginationLoopError`` when a server hands back
a link it already gave, instead of looping for ever.
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
    def __init__(self) -> None:
        self._seen: set[str] = set()

    @abc.abstractmethod
    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        """Where the page after ``body`` (which held ``page_len`` records) is; None at the end."""

    def _check_loop(self, marker: str) -> None:
        if marker in self._seen:
            raise PaginationLoopError(f"the server repeated the next-page marker {marker!r}")
        self._seen.add(marker)


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
        if nxt:
            self._server_paged = True
            self._check_loop(nxt)
            return NextPage(url=nxt)
        if self._server_paged or not self.client_page_size or page_len < self.client_page_size:
            return None
        self._skip += page_len
        self._check_loop(f"$skip={self._skip}")
        return NextPage(params={"$skip": str(self._skip), "$top": str(self.client_page_size)})


class ODataNextLinkPaginator(Paginator):
    """OData v4 / Dataverse: ``@odata.nextLink`` to the end (no ``$skip`` in Dataverse)."""

    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        nxt = body.get("@odata.nextLink")
        if not nxt:
            return None
        self._check_loop(nxt)
        return NextPage(url=nxt)


class OffsetHasMorePaginator(Paginator):
    """Oracle REST: ``hasMore`` with ``offset``/``limit`` (always send ``limit``)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._offset = 0

    def next_page(self, body: Mapping[str, Any], *, page_len: int) -> NextPage | None:
        if not body.get("hasMore"):
            return None
        if page_len == 0:
            raise PaginationLoopError("the server said hasMore but sent an empty page")
        self._offset += page_len
        self._check_loop(f"offset={self._offset}")
        return NextPage(params={"offset": str(self._offset), "limit": str(self.limit)})
