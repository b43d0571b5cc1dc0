"""Exact Dataverse wire details: paging, change tracking, throttling, $batch, upserts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from plantsync.connectors.base import Cursor, PushRecord, Reconcile
from plantsync.connectors.dynamics.batch import parse_batch
from plantsync.connectors.dynamics.codec import deterministic_guid
from plantsync.connectors.dynamics.connector import DynamicsConnector
from plantsync.entities import Direction, EntityType
from plantsync.errors import AmbiguousWriteError, ThrottledError
from tests.unit.connectors.dynamics.conftest import (
    ROOT,
    TENANT_UUID,
    make_connector,
    mock_login,
    with_options,
)

ASSETS = f"{ROOT}msdyn_customerassets"
ORDERS = f"{ROOT}msdyn_workorders"


def asset(n: int, modified: str = "2024-05-01T10:00:00Z") -> dict[str, object]:
    return {
        "@odata.etag": f'W/"{n}"',
        "msdyn_customerassetid": f"00000000-0000-0000-0000-{n:012d}",
        "msdyn_name": f"Press {n}",
        "modifiedon": modified,
    }


def test_pull_follows_next_links_to_the_end_with_odata_headers(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    route = router.get(url__startswith=ASSETS)
    route.side_effect = [
        httpx.Response(200, json={"value": [asset(1), asset(2)], "@odata.nextLink": f"{ASSETS}?$skiptoken=p2"}),
        httpx.Response(200, json={"value": [asset(3)], "@odata.nextLink": f"{ASSETS}?$skiptoken=p3"}),
        httpx.Response(200, json={"value": [asset(4, "2024-05-02T08:00:00Z")],
                                  "@odata.deltaLink": f"{ASSETS}?$deltatoken=9!x"}),
    ]  # fmt: skip
    pages = list(connector.pull(EntityType.machine))
    assert [len(p.records) for p in pages] == [2, 1, 1]
    assert pages[0].cursor is None and pages[-1].cursor is not None
    assert pages[-1].cursor.delta_token == f"{ASSETS}?$deltatoken=9!x"
    assert pages[-1].cursor.watermark == datetime(2024, 5, 2, 8, tzinfo=UTC)
    first, second = route.calls[0].request, route.calls[1].request
    assert first.headers["OData-MaxVersion"] == "4.0" and first.headers["OData-Version"] == "4.0"
    assert "odata.track-changes" in first.headers["Prefer"]
    assert "odata.maxpagesize=1000" in first.headers["Prefer"]
    assert "$skip=" not in str(first.url)
    assert "msdyn_customerassetid" in first.url.params["$select"]
    assert str(second.url) == f"{ASSETS}?$skiptoken=p2"
    assert "odata.maxpagesize=1000" in second.headers["Prefer"]
    record = pages[0].records[0]
    assert record.key == "00000000-0000-0000-0000-000000000001"
    assert record.fields["modifiedon"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert "@odata.etag" not in record.fields


def test_page_size_is_capped_at_5000(router: respx.Router) -> None:
    mock_login(router)
    route = router.get(url__startswith=ASSETS).respond(json={"value": []})
    connector, _ = make_connector(page_size=20000)
    with connector:
        list(connector.pull(EntityType.machine))
    assert "odata.maxpagesize=5000" in route.calls[0].request.headers["Prefer"]


def test_delta_link_brings_changes_and_deletions(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    link = f"{ASSETS}?$select=msdyn_name&$deltatoken=9!x"
    route = router.get(url__startswith=ASSETS).respond(
        json={
            "value": [
                asset(5),
                {"@odata.context": f"{ROOT}$metadata#msdyn_customerassets/$deletedEntity",
                 "id": "00000000-0000-0000-0000-000000000002", "reason": "deleted"},
            ],
            "@odata.deltaLink": f"{ASSETS}?$deltatoken=12!y",
        }
    )  # fmt: skip
    (page,) = connector.pull(EntityType.machine, since=Cursor(delta_token=link))
    assert str(route.calls[0].request.url) == link
    assert "odata.track-changes" in route.calls[0].request.headers["Prefer"]
    changed, deleted = page.records
    assert not changed.deleted and deleted.deleted
    assert deleted.key == "00000000-0000-0000-0000-000000000002" and deleted.fields == {}
    assert page.cursor == Cursor(
        watermark=datetime(2024, 5, 1, 10, tzinfo=UTC), delta_token=f"{ASSETS}?$deltatoken=12!y"
    )
    assert not page.full


def test_expired_delta_token_means_a_full_pull(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    route = router.get(url__startswith=ASSETS)
    route.side_effect = [
        httpx.Response(400, json={"error": {"code": "0x80044352", "message":
            "Version stamp associated with the client has expired. Please perform a full sync."}}),
        httpx.Response(200, json={"value": [asset(1)], "@odata.deltaLink": f"{ASSETS}?$deltatoken=20!z"}),
    ]  # fmt: skip
    (page,) = connector.pull(
        EntityType.machine, since=Cursor(delta_token=f"{ASSETS}?$deltatoken=1!a")
    )
    assert page.full and page.note and "expired" in page.note
    assert "$deltatoken" not in str(route.calls[1].request.url)
    assert page.cursor is not None and page.cursor.delta_token == f"{ASSETS}?$deltatoken=20!z"


def test_without_change_tracking_pulls_filter_on_modifiedon(router: respx.Router) -> None:
    mock_login(router)
    resources = with_options(
        EntityType.machine, Direction.inbound, options={"change_tracking": False}
    )
    route = router.get(url__startswith=ASSETS).respond(json={"value": [asset(1)]})
    connector, _ = make_connector(resources=resources)
    with connector:
        (page,) = connector.pull(EntityType.machine)
        assert "track-changes" not in route.calls[0].request.headers["Prefer"]
        assert page.cursor is not None and page.cursor.delta_token is None
        list(connector.pull(EntityType.machine, since=page.cursor))
    assert route.calls[1].request.url.params["$filter"] == "modifiedon ge 2024-05-01T10:00:00Z"


def test_table_refusing_change_tracking_falls_back(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    route = router.get(url__startswith=ASSETS)
    route.side_effect = [
        httpx.Response(400, json={"error": {"code": "0x80072491",
                                            "message": "Change tracking is not enabled for the entity."}}),
        httpx.Response(200, json={"value": [asset(1)]}),
    ]  # fmt: skip
    (page,) = connector.pull(EntityType.machine)
    assert "track-changes" not in route.calls[1].request.headers["Prefer"]
    assert page.note and "change tracking is off" in page.note
    assert page.cursor is not None and page.cursor.watermark is not None


def test_service_protection_429_waits_as_told(router: respx.Router) -> None:
    mock_login(router)
    route = router.get(url__startswith=ASSETS)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"},
                       json={"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}),
        httpx.Response(200, json={"value": [asset(1)]}),
    ]  # fmt: skip
    connector, sleeps = make_connector()
    with connector:
        (page,) = connector.pull(EntityType.machine)
    assert sleeps == [7.0] and len(page.records) == 1


def test_throttling_that_does_not_end_is_reported(router: respx.Router) -> None:
    mock_login(router)
    router.get(url__startswith=ASSETS).respond(
        429, headers={"Retry-After": "2"}, json={"error": {"code": "0x80072322", "message": "slow"}}
    )
    connector, sleeps = make_connector()
    with connector, pytest.raises(ThrottledError, match="service protection"):
        list(connector.pull(EntityType.machine))
    assert sleeps == [2.0, 2.0, 2.0]


def batch_answer(*parts: tuple[int, dict[str, object] | None]) -> httpx.Response:
    chunks = []
    for status, body in parts:
        chunks += ["--batchresponse_1", "Content-Type: application/http",
                   "Content-Transfer-Encoding: binary", "", f"HTTP/1.1 {status} X"]  # fmt: skip
        if body is not None:
            chunks += [
                "Content-Type: application/json; odata.metadata=minimal",
                "",
                json.dumps(body),
            ]
        else:
            chunks += [""]
    chunks += ["--batchresponse_1--", ""]
    return httpx.Response(
        200,
        content="\r\n".join(chunks).encode(),
        headers={"Content-Type": "multipart/mixed; boundary=batchresponse_1"},
    )


def orders(*ids: str) -> list[PushRecord]:
    return [PushRecord(local_id=i, fields={"msdyn_name": f"WO-{i}"}) for i in ids]


def guid(local_id: str) -> str:
    return str(deterministic_guid(TENANT_UUID, "work_order", local_id))


def test_batch_sends_each_record_alone_and_one_failure_stays_alone(
    router: respx.Router, connector: DynamicsConnector
) -> None:
    route = router.post(f"{ROOT}$batch").mock(
        return_value=batch_answer(
            (201, {"msdyn_workorderid": guid("a")}),
            (400, {"error": {"code": "0x80044331", "message": "msdyn_name too long"}}),
            (200, {"msdyn_workorderid": guid("c")}),
        )
    )
    results = connector.push(EntityType.work_order, orders("a", "b", "c"))
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].created and not results[2].created
    assert results[0].erp_key == guid("a")
    assert results[1].error is not None and "0x80044331" in str(results[1].error)
    request = route.calls[0].request
    assert "odata.continue-on-error" in request.headers["Prefer"]
    body = request.content.decode()
    assert "changeset" not in body
    assert body.count(f"PATCH {ORDERS}(") == 3
    assert f"PATCH {ORDERS}({guid('a')})?$select=msdyn_workorderid HTTP/1.1" in body
    assert "return=representation" in body


def test_lost_batch_answer_is_resent_as_the_same_upsert(router: respx.Router) -> None:
    mock_login(router)
    route = router.post(f"{ROOT}$batch")
    route.side_effect = [
        httpx.ReadTimeout("answer lost"),
        batch_answer((200, {"msdyn_workorderid": guid("a")})),
    ]
    connector, _ = make_connector()
    with connector:
        (result,) = connector.push(EntityType.work_order, orders("a"))
    assert result.ok and result.erp_key == guid("a") and not result.created
    first, second = (c.request.content.decode() for c in route.calls)
    assert f"PATCH {ORDERS}({guid('a')})" in first and f"PATCH {ORDERS}({guid('a')})" in second


def test_plain_creates_are_not_resent_blindly(router: respx.Router) -> None:
    mock_login(router)
    resources = with_options(EntityType.work_order, Direction.outbound, reconcile=Reconcile.none)
    route = router.post(f"{ROOT}$batch").mock(side_effect=httpx.ReadTimeout("answer lost"))
    connector, _ = make_connector(resources=resources)
    with connector, pytest.raises(AmbiguousWriteError):
        connector.push(EntityType.work_order, orders("a"))
    assert route.call_count == 1
    assert f"POST {ORDERS}?$select" in route.calls[0].request.content.decode()


def test_lookups_bind_and_alternate_keys_address_rows(router: respx.Router) -> None:
    mock_login(router)
    resources = with_options(
        EntityType.work_order, Direction.outbound, options={"alternate_key": "plnt_reference"}
    )
    route = router.post(f"{ROOT}$batch").mock(return_value=batch_answer((204, None)))
    connector, _ = make_connector(resources=resources)
    record = PushRecord(
        local_id="a",
        reference="WO-1",
        fields={"msdyn_customerasset": "11111111-2222-3333-4444-555555555555",
                "msdyn_timefrompromised": datetime(2024, 5, 1, 12, tzinfo=UTC)},
    )  # fmt: skip
    with connector:
        connector.push(EntityType.work_order, [record])
    body = route.calls[0].request.content.decode()
    assert f"PATCH {ORDERS}(plnt_reference='WO-1')" in body
    payload = json.loads(body.split("\r\n\r\n")[-1].split("\r\n")[0])
    assert payload == {
        "msdyn_customerasset@odata.bind": "/msdyn_customerassets(11111111-2222-3333-4444-555555555555)",
        "msdyn_timefrompromised": "2024-05-01T12:00:00Z",
    }


def test_batch_chunks_stay_within_the_limit(router: respx.Router) -> None:
    mock_login(router)
    resources = with_options(
        EntityType.work_order, Direction.outbound, options={"batch_size": 5000}
    )
    route = router.post(f"{ROOT}$batch")
    route.side_effect = lambda request: batch_answer(
        *[(204, None)] * request.content.decode().count("HTTP/1.1")
    )
    connector, _ = make_connector(resources=resources)
    with connector:
        results = connector.push(EntityType.work_order, orders(*[str(i) for i in range(1001)]))
    assert len(results) == 1001 and all(r.ok for r in results)
    assert [c.request.content.decode().count("HTTP/1.1") for c in route.calls] == [1000, 1]


def test_changeset_answers_are_flattened() -> None:
    text = (
        "--b1\r\nContent-Type: multipart/mixed; boundary=cs1\r\n\r\n"
        "--cs1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n"
        "OData-EntityId: https://x/api/data/v9.2/tasks(1)\r\n\r\n\r\n"
        "--cs1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--cs1--\r\n"
        "--b1\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n"
        '{"error":{"code":"0x1","message":"bad"}}\r\n--b1--\r\n'
    )
    answers = parse_batch("multipart/mixed; boundary=b1", text.encode())
    assert [a.status for a in answers] == [204, 204, 400]
    assert answers[0].headers["OData-EntityId"].endswith("tasks(1)")
    assert str(answers[2].error()) == "0x1: bad"
