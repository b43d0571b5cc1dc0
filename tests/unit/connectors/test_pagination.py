"""The three paginators against hand-built response bodies, including loop detection."""

from __future__ import annotations

import pytest

from plantsync.connectors.pagination import (
    NextPage,
    ODataNextLinkPaginator,
    ODataV2NextPaginator,
    OffsetHasMorePaginator,
    PaginationLoopError,
)
from plantsync.errors import RetriableError

SAP = "https://erp/sap/opu/odata/sap/API_EQUIPMENT/Equipment"


def sap_page(n: int, next_token: str | None = None) -> dict:
    d: dict = {"results": [{"Equipment": str(i)} for i in range(n)]}
    if next_token:
        d["__next"] = f"{SAP}?$skiptoken={next_token}"
    return {"d": d}


class TestODataV2Next:
    def test_follows_next_to_the_end(self) -> None:
        p = ODataV2NextPaginator(client_page_size=1000)
        assert p.next_page(sap_page(1000, "1000"), page_len=1000) == NextPage(
            url=f"{SAP}?$skiptoken=1000"
        )
        assert p.next_page(sap_page(1000, "2000"), page_len=1000) == NextPage(
            url=f"{SAP}?$skiptoken=2000"
        )
        # The last server page is full-sized but has no __next: the end, no $skip fallback.
        assert p.next_page(sap_page(1000), page_len=1000) is None

    def test_client_paging_when_the_server_does_not_page(self) -> None:
        p = ODataV2NextPaginator(client_page_size=100)
        assert p.next_page(sap_page(100), page_len=100) == NextPage(
            params={"$skip": "100", "$top": "100"}
        )
        assert p.next_page(sap_page(100), page_len=100) == NextPage(
            params={"$skip": "200", "$top": "100"}
        )
        assert p.next_page(sap_page(37), page_len=37) is None

    def test_without_client_page_size_one_page_is_all(self) -> None:
        assert ODataV2NextPaginator().next_page(sap_page(5), page_len=5) is None

    def test_odata_v1_style_list_body(self) -> None:
        assert ODataV2NextPaginator().next_page({"d": [{"a": 1}]}, page_len=1) is None

    def test_repeated_next_link_is_a_loop(self) -> None:
        p = ODataV2NextPaginator()
        p.next_page(sap_page(10, "10"), page_len=10)
        with pytest.raises(PaginationLoopError, match="repeated"):
            p.next_page(sap_page(10, "10"), page_len=10)

    def test_endless_empty_pages_are_a_loop(self) -> None:
        p = ODataV2NextPaginator()
        with pytest.raises(PaginationLoopError, match="empty pages"):
            for i in range(100):
                p.next_page(sap_page(0, str(i)), page_len=0)

    def test_a_few_empty_pages_are_tolerated(self) -> None:
        p = ODataV2NextPaginator()
        for i in range(3):
            assert p.next_page(sap_page(0, f"e{i}"), page_len=0) is not None
        assert p.next_page(sap_page(10, "x"), page_len=10) is not None

    def test_non_link_next_is_rejected(self) -> None:
        with pytest.raises(PaginationLoopError):
            ODataV2NextPaginator().next_page({"d": {"results": [], "__next": 5}}, page_len=0)


class TestODataNextLink:
    def test_follows_next_link_to_the_end(self) -> None:
        p = ODataNextLinkPaginator()
        link = "https://org/api/data/v9.2/accounts?$skiptoken=%3Ccookie%20pagenumber=%222%22/%3E"
        assert p.next_page({"value": [1, 2], "@odata.nextLink": link}, page_len=2) == NextPage(
            url=link
        )
        assert p.next_page({"value": [3], "@odata.deltaLink": "d"}, page_len=1) is None

    def test_repeated_link_is_a_loop(self) -> None:
        p = ODataNextLinkPaginator()
        body = {"value": [1], "@odata.nextLink": "https://org/x?p=2"}
        p.next_page(body, page_len=1)
        with pytest.raises(PaginationLoopError) as info:
            p.next_page(body, page_len=1)
        assert isinstance(info.value, RetriableError)


class TestOffsetHasMore:
    def test_follows_has_more_by_what_was_sent(self) -> None:
        p = OffsetHasMorePaginator(limit=500)
        # The server caps limit at 499 here: the offset advances by the records received.
        assert p.next_page({"items": [], "hasMore": True}, page_len=499) == NextPage(
            params={"offset": "499", "limit": "500"}
        )
        assert p.next_page({"hasMore": True}, page_len=499) == NextPage(
            params={"offset": "998", "limit": "500"}
        )
        assert p.next_page({"hasMore": False}, page_len=2) is None

    def test_missing_has_more_is_the_end(self) -> None:
        assert OffsetHasMorePaginator(limit=25).next_page({"items": []}, page_len=0) is None

    def test_has_more_with_an_empty_page_is_a_loop(self) -> None:
        with pytest.raises(PaginationLoopError, match="empty page"):
            OffsetHasMorePaginator(limit=25).next_page({"hasMore": True}, page_len=0)

    def test_limit_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="limit"):
            OffsetHasMorePaginator(limit=0)


def drive(paginator, server, first_params):
    """Run a paginator against a fake server computing pages from the request's own query."""
    seen, params, url = [], dict(first_params), None
    for _ in range(100):
        body, rows = server(url, params)
        seen.extend(rows)
        nxt = paginator.next_page(body, page_len=len(rows))
        if nxt is None:
            return seen
        url, params = nxt.url, {**params, **(nxt.params or {})}
    raise AssertionError("did not end")


def test_offset_paging_is_complete_without_duplicates() -> None:
    data = list(range(1234))

    def server(url, params):
        off, lim = int(params.get("offset", 0)), min(int(params["limit"]), 100)
        rows = data[off : off + lim]
        return {"items": rows, "hasMore": off + lim < len(data)}, rows

    assert drive(OffsetHasMorePaginator(limit=250), server, {"limit": "250"}) == data


def test_sap_client_paging_is_complete_without_duplicates() -> None:
    data = list(range(305))

    def server(url, params):
        skip, top = int(params.get("$skip", 0)), int(params["$top"])
        rows = data[skip : skip + top]
        return {"d": {"results": rows}}, rows

    assert drive(ODataV2NextPaginator(client_page_size=50), server, {"$top": "50"}) == data
