"""Exact wire details of the Oracle connector against hand-built responses (respx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from plantsync.connectors.base import Cursor, PushRecord
from plantsync.connectors.oracle.connector import OracleConnector
from plantsync.entities import EntityType
from plantsync.errors import UnavailableError
from tests.unit.connectors.oracle.conftest import OAUTH, ROOT, make_connector

ASSETS = f"{ROOT}/installedBaseAssets"
MWO = f"{ROOT}/maintenanceWorkOrders"


def asset(i: int) -> dict[str, Any]:
    return {
        "AssetId": 1000 + i,
        "AssetNumber": f"A{i}",
        "LastUpdateDate": f"2026-01-05T10:{i % 60:02d}:00+00:00",
    }


def paged(rows: list[dict[str, Any]], *, total: int | None = None, cap: int = 500):
    """A side effect serving ``rows`` by the request's own limit/offset, like Fusion."""

    def serve(request: httpx.Request) -> httpx.Response:
        limit = min(int(request.url.params.get("limit", "25")), cap)
        offset = int(request.url.params.get("offset", "0"))
        window = rows[offset : offset + limit]
        body: dict[str, Any] = {
            "items": window,
            "count": len(window),
            "hasMore": offset + len(window) < len(rows),
            "limit": limit,
            "offset": offset,
        }
        if request.url.params.get("totalResults") == "true":
            body["totalResults"] = len(rows) if total is None else total
        return httpx.Response(200, json=body)

    return serve


# -- pull -----------------------------------------------------------------------------------


def test_pull_follows_has_more_to_the_end_with_limit_always_sent() -> None:
    rows = [asset(i) for i in range(1234)]
    connector, _ = make_connector(page_size=500)
    with respx.mock() as router:
        route = router.get(ASSETS).mock(side_effect=paged(rows))
        pages = list(connector.pull(EntityType.machine))
    assert [len(p.records) for p in pages] == [500, 500, 234]
    assert [r.key for p in pages for r in p.records] == [str(1000 + i) for i in range(1234)]
    params = [c.request.url.params for c in route.calls]
    assert [p["offset"] for p in params] == ["0", "500", "1000"]
    assert all(p["limit"] == "500" and p["onlyData"] == "true" for p in params)
    assert params[0]["totalResults"] == "true" and "totalResults" not in params[1]
    assert params[0]["orderBy"] == "LastUpdateDate:asc,AssetId:asc"
    assert "q" not in params[0]
    assert pages[-1].cursor is not None and pages[0].cursor is None
    assert pages[-1].cursor.watermark == max(r.changed_at for p in pages for r in p.records)


def test_limit_is_capped_at_fusions_maximum() -> None:
    connector, _ = make_connector(page_size=5000)
    with respx.mock() as router:
        route = router.get(ASSETS).mock(side_effect=paged([asset(i) for i in range(3)]))
        list(connector.pull(EntityType.machine))
    assert route.calls[0].request.url.params["limit"] == "500"


def test_server_capping_the_page_is_still_followed_to_the_end() -> None:
    rows = [asset(i) for i in range(260)]
    connector, _ = make_connector(page_size=500)
    with respx.mock() as router:
        route = router.get(ASSETS).mock(side_effect=paged(rows, cap=100))
        pages = list(connector.pull(EntityType.machine))
    assert sum(len(p.records) for p in pages) == 260
    assert [c.request.url.params["offset"] for c in route.calls] == ["0", "100", "200"]


def test_fewer_rows_than_total_results_is_an_error_not_silent_truncation() -> None:
    connector, _ = make_connector(page_size=100)
    with respx.mock() as router:
        router.get(ASSETS).mock(side_effect=paged([asset(i) for i in range(150)], total=1000))
        with pytest.raises(UnavailableError, match="150 of 1000"):
            list(connector.pull(EntityType.machine))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (1, "LastUpdateDate>=2026-01-05T10:00:00.000+00:00"),
        (2, "LastUpdateDate >= '2026-01-05T10:00:00.000+00:00'"),
        (4, "LastUpdateDate >= '2026-01-05T10:00:00.000+00:00'"),
    ],
)
def test_incremental_pull_q_in_the_syntax_of_the_framework_version(
    version: int, expected: str
) -> None:
    connector, _ = make_connector(
        {"username": "u", "password": "p", "rest_framework_version": version}
    )
    since = Cursor(watermark=datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    with respx.mock() as router:
        route = router.get(ASSETS).mock(side_effect=paged([]))
        pages = list(connector.pull(EntityType.machine, since=since))
    request = route.calls[0].request
    assert request.url.params["q"] == expected
    assert request.headers["REST-Framework-Version"] == str(version)
    assert pages[-1].cursor == since  # nothing new: the watermark stays


def test_retry_after_is_honoured_on_429() -> None:
    connector, sleeps = make_connector()
    with respx.mock() as router:
        router.get(ASSETS).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "3"}),
                httpx.Response(429, headers={"Retry-After": "1"}),
                paged([asset(1)]),
            ]
        )
        pages = list(connector.pull(EntityType.machine))
    assert sleeps == [3.0, 1.0]
    assert len(pages[0].records) == 1


# -- push -----------------------------------------------------------------------------------


class FakeBatchServer:
    """All-or-none batches and single creates; a payload with ``Bogus`` is refused."""

    def __init__(self) -> None:
        self.next_id = 500
        self.batches: list[list[str]] = []
        self.rows: dict[str, dict[str, Any]] = {}

    def _create(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        row = {"WorkOrderId": self.next_id, **payload}
        self.rows[str(self.next_id)] = row
        return row

    def batch(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == "application/vnd.oracle.adf.batch+json"
        parts = json.loads(request.content)["parts"]
        self.batches.append([p["id"] for p in parts])
        for p in parts:
            if "Bogus" in p["payload"]:
                error = {
                    "title": "Bad Request",
                    "o:errorDetails": [{"detail": "The attribute Bogus is not found."}],
                }
                return httpx.Response(400, json={"parts": [{**p, "exception": error}]})
        answers = [{**p, "payload": self._create(p["payload"])} for p in parts]
        return httpx.Response(200, json={"parts": answers})

    def single(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == "application/vnd.oracle.adf.resourceitem+json"
        payload = json.loads(request.content)
        if "Bogus" in payload:
            return httpx.Response(400, text="The attribute Bogus is not found.")
        return httpx.Response(201, json=self._create(payload))


def records(n: int, bad: set[int] = frozenset()) -> list[PushRecord]:  # type: ignore[assignment]
    return [
        PushRecord(
            local_id=f"L{i}",
            fields={
                "WorkOrderDescription": f"d{i}",
                "OrganizationCode": "M1",
                **({"Bogus": 1} if i in bad else {}),
            },
            reference=f"REF-{i}",
        )
        for i in range(n)
    ]


def test_batch_all_or_none_bisects_to_the_bad_record() -> None:
    connector, _ = make_connector()
    server = FakeBatchServer()
    with respx.mock() as router:
        router.post(ROOT).mock(side_effect=server.batch)
        router.post(MWO).mock(side_effect=server.single)
        results = connector.push(EntityType.work_order, records(8, bad={5}))
    assert [r.ok for r in results] == [True] * 5 + [False] + [True] * 2
    bad = results[5].error
    assert bad is not None and bad.record_key == "L5" and "Bogus" in str(bad)
    assert len(server.rows) == 7  # every good record landed, once
    # 8 refused -> 4+4; the good half lands; 4 refused -> 2+2; 2 refused -> single sends.
    assert server.batches[0] == [str(i) for i in range(8)]
    assert ["0", "1", "2", "3"] in server.batches
    assert {r.erp_key for r in results if r.ok} == set(server.rows)
    sent_refs = sorted(r["WorkOrderNumber"] for r in server.rows.values())
    assert sent_refs == sorted(f"REF-{i}" for i in range(8) if i != 5)


def test_batch_parts_carry_id_path_operation_payload() -> None:
    connector, _ = make_connector()
    server = FakeBatchServer()
    push = [
        PushRecord(local_id="new", fields={"WorkOrderDescription": "a"}, reference="R1"),
        PushRecord(
            local_id="old", fields={"WorkOrderId": 77, "WorkOrderDescription": "b"}, erp_key="77"
        ),
    ]
    with respx.mock() as router:
        route = router.post(ROOT).mock(
            return_value=httpx.Response(
                200,
                json={
                    "parts": [
                        {"id": "0", "payload": {"WorkOrderId": 9, "WorkOrderDescription": "a"}},
                        {"id": "1", "payload": {"WorkOrderId": 77, "WorkOrderDescription": "b"}},
                    ]
                },
            )
        )
        results = connector.push(EntityType.work_order, push)
    parts = json.loads(route.calls[0].request.content)["parts"]
    assert parts == [
        {
            "id": "0",
            "path": "/maintenanceWorkOrders",
            "operation": "create",
            "payload": {"WorkOrderDescription": "a", "WorkOrderNumber": "R1"},
        },
        {
            "id": "1",
            "path": "/maintenanceWorkOrders/77",
            "operation": "update",
            "payload": {"WorkOrderDescription": "b"},
        },
    ]
    assert [(r.erp_key, r.created) for r in results] == [("9", True), ("77", False)]
    assert server.rows == {}


def test_lost_batch_answer_is_reconciled_with_find_not_resent_blindly() -> None:
    """The batch applied but its answer was lost (503): find() each create before resending."""
    connector, _ = make_connector()
    server = FakeBatchServer()
    landed = {"REF-0": 901}  # REF-0 landed before the answer was lost; REF-1 did not

    def find(request: httpx.Request) -> httpx.Response:
        q = request.url.params["q"]
        ref = q.split("'")[1]
        items = [{"WorkOrderId": landed[ref], "WorkOrderNumber": ref}] if ref in landed else []
        return httpx.Response(200, json={"items": items, "hasMore": False, "count": len(items)})

    with respx.mock() as router:
        batch = router.post(ROOT).mock(return_value=httpx.Response(503))
        router.get(MWO).mock(side_effect=find)
        single = router.post(MWO).mock(side_effect=server.single)
        results = connector.push(EntityType.work_order, records(2))
    assert batch.call_count == 1  # a non-idempotent batch is not re-sent
    assert results[0].erp_key == "901" and results[0].ok
    assert results[1].ok and single.call_count == 1
    assert json.loads(single.calls[0].request.content)["WorkOrderNumber"] == "REF-1"


def test_maybe_sent_record_found_becomes_an_update() -> None:
    connector, _ = make_connector()
    with respx.mock() as router:
        lookup = router.get(MWO).mock(
            return_value=httpx.Response(
                200,
                json={"items": [{"WorkOrderId": 42, "WorkOrderNumber": "REF-X"}], "hasMore": False},
            )
        )
        patch = router.patch(f"{MWO}/42").mock(
            return_value=httpx.Response(200, json={"WorkOrderId": 42})
        )
        [result] = connector.push(
            EntityType.work_order,
            [
                PushRecord(
                    local_id="L",
                    fields={"WorkOrderDescription": "z"},
                    reference="REF-X",
                    maybe_sent=True,
                )
            ],
        )
    assert lookup.calls[0].request.url.params["q"] == "WorkOrderNumber = 'REF-X'"
    assert (
        patch.calls[0].request.headers["Content-Type"]
        == "application/vnd.oracle.adf.resourceitem+json"
    )
    assert json.loads(patch.calls[0].request.content) == {
        "WorkOrderDescription": "z",
        "WorkOrderNumber": "REF-X",
    }
    assert result.erp_key == "42" and result.ok


def test_maybe_sent_without_a_way_to_reconcile_is_not_resent() -> None:
    connector, _ = make_connector()
    with respx.mock(assert_all_called=False) as router:
        posted = router.post(MWO).mock(return_value=httpx.Response(201))
        [result] = connector.push(
            EntityType.work_order,
            [PushRecord(local_id="L", fields={"WorkOrderDescription": "z"}, maybe_sent=True)],
        )
    assert not posted.called
    assert result.error is not None and "cannot be reconciled" in str(result.error)


def test_oauth_token_fetched_once_and_refetched_on_401() -> None:
    connector, _ = make_connector(OAUTH)
    with respx.mock() as router:
        tokens = router.post(OAUTH["token_url"]).mock(
            side_effect=[
                httpx.Response(200, json={"access_token": "t1", "expires_in": 3600}),
                httpx.Response(200, json={"access_token": "t2", "expires_in": 3600}),
            ]
        )
        api = router.get(ASSETS).mock(
            side_effect=[
                paged([asset(1)]),
                httpx.Response(401),
                paged([asset(1)]),
            ]
        )
        list(connector.pull(EntityType.machine))
        list(connector.pull(EntityType.machine))
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]


def test_find_returns_none_when_absent(connector: OracleConnector) -> None:
    with respx.mock() as router:
        router.get(f"{ROOT}/plantDowntimeEvents").mock(
            return_value=httpx.Response(200, json={"items": [], "hasMore": False})
        )
        assert connector.find(EntityType.downtime, "nope") is None
