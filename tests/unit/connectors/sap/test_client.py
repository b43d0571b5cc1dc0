"""Exact SAP Gateway wire details, against hand-built responses (respx)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from plantsync.connectors.base import PushRecord
from plantsync.connectors.sap.client import CsrfTokenError, classify_sap_response
from plantsync.entities import EntityType
from plantsync.errors import ERPPermissionError, ERPValidationError, UnavailableError

from .conftest import ROOT, make_connector, metadata

SVC = f"{ROOT}/API_MAINTENANCEORDER/"


def _fetch_route(mock: respx.MockRouter, tokens: list[str]) -> respx.Route:
    responses = [
        httpx.Response(
            200,
            json={"d": {}},
            headers={"x-csrf-token": t, "set-cookie": f"SAP_SESSIONID=s-{t}; Path=/; Secure"},
        )
        for t in tokens
    ]
    return mock.get(SVC, headers={"x-csrf-token": "Fetch"}).mock(side_effect=responses)


@respx.mock(assert_all_called=False)
def test_csrf_token_fetched_once_and_sent_with_the_session_cookie(
    respx_mock: respx.MockRouter,
) -> None:
    fetch = _fetch_route(respx_mock, ["T1"])
    post = respx_mock.post(f"{SVC}MaintenanceOrder").mock(
        return_value=httpx.Response(201, json={"d": {"MaintenanceOrder": "4000001"}})
    )
    sap = make_connector().sap
    sap.write("API_MAINTENANCEORDER", "POST", "MaintenanceOrder", body={"A": 1})
    sap.write("API_MAINTENANCEORDER", "POST", "MaintenanceOrder", body={"A": 2})
    assert fetch.call_count == 1
    sent = post.calls[0].request
    assert sent.headers["x-csrf-token"] == "T1"
    assert "SAP_SESSIONID=s-T1" in sent.headers["cookie"]
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.url.params["sap-client"] == "100"
    assert json.loads(sent.content) == {"A": 1}


@respx.mock(assert_all_called=False)
def test_csrf_refetched_and_retried_once_on_validation_failure(
    respx_mock: respx.MockRouter,
) -> None:
    fetch = _fetch_route(respx_mock, ["OLD", "NEW"])
    post = respx_mock.post(f"{SVC}MaintenanceOrder").mock(
        side_effect=[
            httpx.Response(
                403, text="CSRF token validation failed", headers={"x-csrf-token": "Required"}
            ),
            httpx.Response(201, json={"d": {"MaintenanceOrder": "4000001"}}),
        ]
    )
    make_connector().sap.write("API_MAINTENANCEORDER", "POST", "MaintenanceOrder", body={})
    assert fetch.call_count == 2
    assert [c.request.headers["x-csrf-token"] for c in post.calls] == ["OLD", "NEW"]


@respx.mock(assert_all_called=False)
def test_csrf_failing_twice_gives_up(respx_mock: respx.MockRouter) -> None:
    _fetch_route(respx_mock, ["A", "B", "C"])
    post = respx_mock.post(f"{SVC}$batch").mock(
        return_value=httpx.Response(
            403, text="CSRF token validation failed", headers={"x-csrf-token": "Required"}
        )
    )
    with pytest.raises(CsrfTokenError):
        make_connector().sap.batch("API_MAINTENANCEORDER", [[]])
    assert post.call_count == 2


@respx.mock(assert_all_called=False)
def test_one_csrf_token_serves_every_service_of_the_session(
    respx_mock: respx.MockRouter,
) -> None:
    fetch = _fetch_route(respx_mock, ["T1", "T2"])
    notif = f"{ROOT}/API_MAINTNOTIFICATION/"
    other_fetch = respx_mock.get(notif, headers={"x-csrf-token": "Fetch"}).mock(
        return_value=httpx.Response(200, json={"d": {}}, headers={"x-csrf-token": "N"})
    )
    orders = respx_mock.post(f"{SVC}MaintenanceOrder").mock(
        return_value=httpx.Response(201, json={"d": {"MaintenanceOrder": "4000001"}})
    )
    notes = respx_mock.post(f"{notif}MaintenanceNotification").mock(
        return_value=httpx.Response(201, json={"d": {"MaintenanceNotification": "1"}})
    )
    sap = make_connector().sap
    sap.write("API_MAINTENANCEORDER", "POST", "MaintenanceOrder", body={})
    sap.write("API_MAINTNOTIFICATION", "POST", "MaintenanceNotification", body={})
    assert (fetch.call_count, other_fetch.call_count) == (1, 0)
    assert notes.calls[0].request.headers["x-csrf-token"] == "T1"
    assert orders.calls[0].request.headers["x-csrf-token"] == "T1"


@respx.mock(assert_all_called=False)
def test_csrf_token_comes_with_the_metadata_read(respx_mock: respx.MockRouter) -> None:
    meta = respx_mock.get(f"{SVC}$metadata").mock(
        return_value=httpx.Response(
            200,
            content=metadata("API_MAINTENANCEORDER"),
            headers={"x-csrf-token": "M1", "set-cookie": "SAP_SESSIONID=s-M1; Path=/; Secure"},
        )
    )
    fetch = _fetch_route(respx_mock, ["T1"])
    batch = respx_mock.post(f"{SVC}$batch").mock(
        return_value=_batch_answer([(201, {"d": {"MaintenanceOrder": "4000007"}})])
    )
    record = PushRecord(local_id="1", fields={"MaintenanceOrderDesc": "o1"})
    [result] = make_connector().push(EntityType.work_order, [record])
    assert result.erp_key == "4000007"
    assert meta.calls[0].request.headers["x-csrf-token"] == "Fetch"
    assert fetch.call_count == 0
    sent = batch.calls[0].request
    assert sent.headers["x-csrf-token"] == "M1"
    assert "SAP_SESSIONID=s-M1" in sent.headers["cookie"]


def _paged_server(total: int, server_page: int, *, truncate_after: int | None = None) -> Any:
    """A Gateway that pages itself: computes each page from the request's query."""

    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        skip = int(params.get("$skiptoken") or params.get("$skip") or 0)
        top = int(params["$top"]) if "$top" in params else total
        size = min(top, server_page, total - skip)
        rows = [
            {"Equipment": f"{n:08d}", "LastChangeDateTime": "/Date(1700000000000+0000)/"}
            for n in range(skip, skip + size)
        ]
        d: dict[str, Any] = {"results": rows}
        if params.get("$inlinecount") == "allpages":
            d["__count"] = str(total)
        stop = truncate_after is not None and skip + size >= truncate_after
        if size < top and skip + size < total and not stop:
            rest = f"$top={top - size}&" if "$top" in params else ""
            d["__next"] = f"{ROOT}/API_EQUIPMENT/Equipment?{rest}$skiptoken={skip + size}"
        return httpx.Response(200, json={"d": d})

    return handler


def _mock_equipment(mock: respx.MockRouter, handler: Any) -> respx.Route:
    mock.get(f"{ROOT}/API_EQUIPMENT/$metadata").mock(
        return_value=httpx.Response(200, content=metadata("API_EQUIPMENT"))
    )
    return mock.get(f"{ROOT}/API_EQUIPMENT/Equipment").mock(side_effect=handler)


@respx.mock
def test_next_followed_to_the_end_complete_against_inlinecount(
    respx_mock: respx.MockRouter,
) -> None:
    route = _mock_equipment(respx_mock, _paged_server(2500, 1000))
    connector = make_connector(page_size=5000)
    pages = list(connector.pull(EntityType.machine))
    keys = [r.key for p in pages for r in p.records]
    assert len(keys) == len(set(keys)) == 2500
    assert route.call_count == 3
    assert route.calls[1].request.url.params["$skiptoken"] == "1000"
    assert route.calls[1].request.url.params["sap-client"] == "100"
    assert pages[-1].cursor is not None and pages[-1].cursor.watermark is not None


@respx.mock
def test_top_skip_windows_when_the_server_does_not_page(respx_mock: respx.MockRouter) -> None:
    route = _mock_equipment(respx_mock, _paged_server(2500, 10**9))
    keys = [
        r.key for p in make_connector(page_size=1000).pull(EntityType.machine) for r in p.records
    ]
    assert len(set(keys)) == 2500
    assert [c.request.url.params.get("$skip") for c in route.calls] == [None, "1000", "2000"]


@respx.mock
def test_silent_truncation_is_detected(respx_mock: respx.MockRouter) -> None:
    _mock_equipment(respx_mock, _paged_server(2500, 1000, truncate_after=1000))
    with pytest.raises(UnavailableError, match="announced 2500 rows but sent 1000"):
        list(make_connector(page_size=5000).pull(EntityType.machine))


@respx.mock
def test_retry_after_is_honoured(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{ROOT}/API_EQUIPMENT/$metadata").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(503, headers={"Retry-After": "1"}),
            httpx.Response(200, content=metadata("API_EQUIPMENT")),
        ]
    )
    sleeps: list[float] = []
    make_connector(sleeps).sap.metadata("API_EQUIPMENT")
    assert sleeps == [3.0, 1.0]


def _batch_answer(parts: list[tuple[int, dict[str, Any]]]) -> httpx.Response:
    lines = []
    for status, body in parts:
        http = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
        )
        if status < 400:
            lines.append(
                "--B\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n"
                "--C\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\n\r\n{http}--C--\r\n"
            )
        else:
            lines.append(
                "--B\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\n\r\n{http}"
            )
    body = "".join(lines) + "--B--\r\n"
    return httpx.Response(
        202, content=body.encode(), headers={"content-type": "multipart/mixed; boundary=B"}
    )


@respx.mock(assert_all_called=False)
def test_batch_one_failing_record_is_that_records_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{SVC}$metadata").mock(
        return_value=httpx.Response(200, content=metadata("API_MAINTENANCEORDER"))
    )
    _fetch_route(respx_mock, ["T"])
    error = {
        "error": {
            "code": "IW/123",
            "message": {"lang": "en", "value": "Equipment X does not exist"},
        }
    }
    batch = respx_mock.post(f"{SVC}$batch").mock(
        return_value=_batch_answer(
            [
                (201, {"d": {"MaintenanceOrder": "4000007"}}),
                (400, error),
                (201, {"d": {"MaintenanceOrder": "4000008"}}),
            ]
        )
    )
    records = [
        PushRecord(local_id=str(i), fields={"MaintenanceOrderDesc": f"o{i}"}) for i in range(3)
    ]
    results = make_connector().push(EntityType.work_order, records)
    assert [r.erp_key for r in results] == ["4000007", None, "4000008"]
    assert isinstance(results[1].error, ERPValidationError)
    assert "Equipment X does not exist" in str(results[1].error)
    sent = batch.calls[0].request
    assert sent.headers["content-type"].startswith("multipart/mixed; boundary=batch_")
    assert sent.content.count(b"POST MaintenanceOrder HTTP/1.1") == 3
    assert sent.content.count(b"Content-Type: multipart/mixed; boundary=changeset_") == 3


def test_classification_carries_sap_messages() -> None:
    request = httpx.Request("GET", f"{SVC}MaintenanceOrder")
    header = json.dumps(
        {"code": "X/1", "message": "No authorization for plant 1010", "details": []}
    )
    forbidden = httpx.Response(403, request=request, headers={"sap-message": header})
    with pytest.raises(ERPPermissionError, match="No authorization for plant 1010") as info:
        classify_sap_response(forbidden)
    assert not isinstance(info.value, CsrfTokenError)
    csrf = httpx.Response(403, request=request, text="CSRF token validation failed")
    with pytest.raises(CsrfTokenError):
        classify_sap_response(csrf)
    bad = httpx.Response(400, request=request, json={"error": {"message": {"value": "Bad date"}}})
    with pytest.raises(ERPValidationError, match="Bad date"):
        classify_sap_response(bad)


def test_metadata_parse_logs_no_annotation_noise(caplog: pytest.LogCaptureFixture) -> None:
    from plantsync.connectors.sap.metadata import _cache, parse_metadata

    _cache.clear()
    with caplog.at_level(logging.WARNING):
        model = parse_metadata(metadata("API_MAINTNOTIFICATION"), service="API_MAINTNOTIFICATION")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    es = model.entity_set("MaintenanceNotification")
    assert es is not None and es.properties["MaintenanceNotification"].creatable is False
    assert "CompleteMaintNotification" in model.function_imports
