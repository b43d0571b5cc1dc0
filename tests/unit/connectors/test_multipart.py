"""connectors/multipart: what both ERP batch modules and the sandboxes read and write."""

from __future__ import annotations

import pytest

from plantsync.connectors import multipart
from plantsync.connectors.multipart import MultipartError, Part, Request, Response


def test_requests_round_trip_through_build_and_split() -> None:
    reads = [multipart.http_request(Request("GET", "Equipment('1')", {"Accept": "json"}))]
    change = multipart.http_request(
        Request("POST", "Orders", {"Content-Type": "application/json"}, b'{"a":1}'), content_id=1
    )
    parts = [*reads, multipart.nested([change], boundary="cs_1")]
    body, content_type = multipart.build(parts, boundary="b_1")

    assert content_type == "multipart/mixed; boundary=b_1"
    assert b"\r\n" in body and body.endswith(b"--b_1--\r\n")
    first, second = multipart.split(content_type, body)
    assert first.content_type == "application/http" and not first.is_multipart
    request = multipart.parse_request(first.body)
    assert (request.method, request.url, request.headers) == (
        "GET",
        "Equipment('1')",
        {"accept": "json"},
    )
    assert second.is_multipart
    (inner,) = multipart.split(second.content_type, second.body)
    assert inner.headers["content-id"] == "1"
    posted = multipart.parse_request(inner.body)
    assert (posted.method, posted.body) == ("POST", b'{"a":1}')


def test_responses_are_read_with_bare_lf_line_ends_too() -> None:
    part = multipart.http_response(Response(201, {"Location": "x"}, b'{"d": {}}'))
    body, content_type = multipart.build([part], boundary="r")
    (read,) = multipart.split(content_type, body.replace(b"\r\n", b"\n"))
    answer = multipart.parse_response(read.body)
    assert (answer.status, answer.headers, answer.json()) == (201, {"location": "x"}, {"d": {}})


def test_a_response_without_headers_or_body() -> None:
    answer = multipart.parse_response(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert (answer.status, answer.headers, answer.body, answer.json()) == (204, {}, b"", None)


@pytest.mark.parametrize("content_type", ["application/json", "multipart/mixed", ""])
def test_a_content_type_without_boundary_is_refused(content_type: str) -> None:
    with pytest.raises(MultipartError, match="not multipart"):
        multipart.split(content_type, b"--x\r\n\r\n--x--")


def test_preamble_and_epilogue_are_dropped() -> None:
    body = b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\nepilogue"
    assert multipart.split('multipart/mixed; boundary="b"', body) == [
        Part(headers={"content-type": "text/plain"}, body=b"hello")
    ]


@pytest.mark.parametrize("payload", [b"", b"garbage", b"200 OK\r\n\r\n"])
def test_a_part_that_is_no_http_response_is_refused(payload: bytes) -> None:
    with pytest.raises(MultipartError, match="not an HTTP response"):
        multipart.parse_response(payload)


@pytest.mark.parametrize("payload", [b"", b"HTTP/1.1 200 OK\r\n\r\n", b"GET\r\n\r\n"])
def test_a_part_that_is_no_http_request_is_refused(payload: bytes) -> None:
    with pytest.raises(MultipartError, match="not an HTTP request"):
        multipart.parse_request(payload)
