"""The sandbox ERPs page from views kept sorted across writes: every page equals what
filtering and sorting the whole table for that request gives (the reference below), before
and after creates, updates, deletes, in-place edits of stored rows and rolled-back batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from plantsync.sandbox.dynamics.app import DynamicsSandbox
from plantsync.sandbox.oracle import query as oracle_query
from plantsync.sandbox.oracle.app import OracleSandbox
from plantsync.sandbox.oracle.store import RESOURCES, OracleError, write
from plantsync.sandbox.sap.app import SapSandbox
from plantsync.sandbox.sap.query import QueryError, _sort_key, parse_filter

ORIGIN = "https://sandbox.local"

# -- Oracle ----------------------------------------------------------------------------------

ASSETS = "installedBaseAssets"
ORACLE_QUERIES: list[dict[str, str]] = [
    {},
    {"orderBy": "LastUpdateDate:asc,AssetId:asc"},
    {"orderBy": "WorkCenterCode"},  # ties: insertion order
    {"orderBy": "OrganizationCode:desc,Description:desc"},
    {"orderBy": "ActiveEndDate:desc,SerialNumber"},  # nulls last either way
    {"orderBy": "MaintainableFlag:desc,AssetId:desc"},
    {"q": "OrganizationCode=M1", "orderBy": "LastUpdateDate:desc"},
    {"q": "LastUpdateDate>='2025-01-08T00:00:00.000+00:00'", "orderBy": "LastUpdateDate:asc"},
]


def oracle_keys(sandbox: OracleSandbox, query: dict[str, str], limit: int) -> list[int]:
    keys: list[int] = []
    offset = 0
    while True:
        params = {**query, "onlyData": "true", "limit": str(limit), "offset": str(offset)}
        body = oracle_query.page(
            sandbox.state, ASSETS, params=params, version=1, base_url=ORIGIN, self_url=ORIGIN
        )
        keys += [item["AssetId"] for item in body["items"]]
        offset += limit
        if not body["hasMore"]:
            return keys


def oracle_reference(sandbox: OracleSandbox, query: dict[str, str]) -> list[int]:
    """The whole collection filtered and sorted for the request, as every page once was."""
    rdef = RESOURCES[ASSETS]
    rows = list(sandbox.state.rows[ASSETS].values())
    selected = oracle_query._select(rdef, rows, query.get("q"), 1)
    return [r["AssetId"] for r in oracle_query._order(rdef, selected, query.get("orderBy"))]


def assert_oracle_pages(sandbox: OracleSandbox) -> None:
    for query in ORACLE_QUERIES:
        assert oracle_keys(sandbox, query, 7) == oracle_reference(sandbox, query), query


def test_oracle_pages_follow_writes_and_edits() -> None:
    sandbox = OracleSandbox(records=150, seed=3)
    assert_oracle_pages(sandbox)
    rows = sandbox.state.rows[ASSETS]
    keys = sorted(rows)
    for key in keys[::9]:
        write(
            sandbox.state, ASSETS, {"Description": f"Changed {key}", "WorkCenterCode": "WC-0"}, key
        )
    for i in range(4):
        write(sandbox.state, ASSETS, {"AssetNumber": f"NEW-{i}", "OrganizationCode": "M1"}, None)
    rows[keys[3]]["LastUpdateDate"] = "2024-01-01T00:00:00.000+00:00"  # edited in place
    rows[keys[4]]["ActiveEndDate"] = "2030-01-01T00:00:00.000+00:00"
    added = sandbox.state.new_id()
    rows[added] = {**rows[keys[5]], "AssetId": added, "AssetNumber": "ADDED"}
    assert_oracle_pages(sandbox)


def test_oracle_upsert_and_unique_keys_use_the_current_rows() -> None:
    sandbox = OracleSandbox(records=20, seed=3)
    rows = sandbox.state.rows[ASSETS]
    first = next(iter(rows))
    rows[first]["AssetNumber"] = "RENAMED"  # in place: the unique key moves with it
    row, created = write(sandbox.state, ASSETS, {"AssetNumber": "RENAMED"}, None, upsert=True)
    assert not created and row["AssetId"] == first
    with pytest.raises(OracleError) as refused:
        write(sandbox.state, ASSETS, {"AssetNumber": "RENAMED"}, None)
    assert refused.value.code == "JBO-27108"
    _, created = write(sandbox.state, ASSETS, {"AssetNumber": "AST-10000"}, None)
    assert created  # the generated row that had it was renamed


def test_oracle_failed_batch_leaves_rows_views_and_ids_as_they_were() -> None:
    with_batch = OracleSandbox(records=60, seed=3)
    untouched = OracleSandbox(records=60, seed=3)
    for sandbox in (with_batch, untouched):
        assert_oracle_pages(sandbox)  # builds the views
    key = sorted(with_batch.state.rows[ASSETS])[2]
    parts = [
        {"id": "1", "path": f"/{ASSETS}", "operation": "create", "payload": {"AssetNumber": "B1"}},
        {
            "id": "2",
            "path": f"/{ASSETS}/{key}",
            "operation": "update",
            "payload": {"Description": "x"},
        },
        {
            "id": "3",
            "path": f"/{ASSETS}",
            "operation": "create",
            "payload": {"AssetNumber": "AST-10001"},
        },
    ]
    answer = batch(with_batch, parts)
    assert answer.status_code == 400 and answer.json()["parts"][0]["id"] == "3"
    assert with_batch.dump("machine") == untouched.dump("machine")
    assert with_batch.state.next_id == untouched.state.next_id
    assert_oracle_pages(with_batch)
    assert batch(with_batch, parts[:2]).status_code == 200
    assert with_batch.dump("machine")[-1]["AssetNumber"] == "B1"
    assert_oracle_pages(with_batch)


def batch(sandbox: OracleSandbox, parts: list[dict[str, Any]]) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient

    info = sandbox.info(ORIGIN)["auth_config"]
    return TestClient(sandbox.app, base_url=ORIGIN).post(
        "/fscmRestApi/resources/11.13.18.05",
        content=json.dumps({"parts": parts}),
        auth=(info["username"], info["password"]),
        headers={"content-type": "application/vnd.oracle.adf.batch+json"},
    )


# -- SAP -------------------------------------------------------------------------------------

VALID = "ValidityStartDate le datetime'2025-06-01T00:00:00' and ValidityEndDate ge datetime'2025-06-01T00:00:00'"
SAP_QUERIES: list[dict[str, str]] = [
    {},
    {"$orderby": "EquipmentName desc"},
    {"$orderby": "LastChangeDateTime desc,Equipment"},
    {"$filter": VALID, "$orderby": "Equipment,ValidityEndDate"},
    {"$filter": "substringof('Press', EquipmentName) or EquipmentIsInactive eq true"},
    {"$orderby": "TechnicalObjectType,CostCenter desc"},
]


def sap_keys(sandbox: SapSandbox, query: dict[str, str], **window: str) -> list[Any]:
    """Every row of the request, following ``__next``; ``window``: ``$skip``/``$top``."""
    params: dict[str, str] = {**query, **window, "$select": "Equipment,ValidityEndDate"}
    keys: list[Any] = []
    for _ in range(100):
        status, _, body = sandbox.dispatch("API_EQUIPMENT", "GET", "Equipment", params, b"", ORIGIN)
        assert status == 200, body
        keys += [(r["Equipment"], r["ValidityEndDate"]) for r in body["d"]["results"]]
        if "__next" not in body["d"]:
            return keys
        params = dict(parse_qsl(urlsplit(body["d"]["__next"]).query))
    raise AssertionError("no end of the pages")


def sap_reference(sandbox: SapSandbox, query: dict[str, str]) -> list[dict[str, Any]]:
    """Filter every row, then one stable sort per ordering property, last one first."""
    table = sandbox.store.table("API_EQUIPMENT", "Equipment")
    keep = parse_filter(query.get("$filter"), list(table.es.properties))
    rows = [r for r in table.rows.values() if keep(r)]
    specs = [(k, False) for k in table.es.key]
    if query.get("$orderby"):
        named = [
            (name, direction.strip().lower() == "desc")
            for name, _, direction in (
                p.strip().partition(" ") for p in query["$orderby"].split(",")
            )
        ]
        specs = named + [s for s in specs if s[0] not in {n for n, _ in named}]
    for name, desc in reversed(specs):
        rows.sort(key=lambda r, n=name: _sort_key(r.get(n)), reverse=desc)
    return rows


def assert_sap_pages(sandbox: SapSandbox) -> None:
    for query in SAP_QUERIES:
        expected = [
            (r["Equipment"], sap_wire_date(r["ValidityEndDate"]))
            for r in sap_reference(sandbox, query)
        ]
        assert sap_keys(sandbox, query) == expected, query
        assert sap_keys(sandbox, query, **{"$skip": "13", "$top": "45"}) == expected[13:58]
        status, _, count = sandbox.dispatch(
            "API_EQUIPMENT", "GET", "Equipment/$count", query, b"", ORIGIN
        )
        assert (status, count) == (200, str(len(expected)))


def sap_wire_date(value: datetime) -> str:
    return f"/Date({round(value.timestamp() * 1000)})/"


def test_sap_server_paging_and_skip_follow_writes_and_edits() -> None:
    sandbox = SapSandbox(records=90, seed=3, page_size=20)
    assert_sap_pages(sandbox)
    table = sandbox.store.table("API_EQUIPMENT", "Equipment")
    keys = list(table.rows)
    table.rows[keys[2]]["EquipmentName"] = "Zz edited in place"
    table.rows[keys[3]]["LastChangeDateTime"] = datetime(2020, 1, 1, tzinfo=UTC)
    added = {**table.rows[keys[4]], "Equipment": "19000001", "EquipmentName": "Press added"}
    table.rows[table.key_of(added)] = added
    sandbox.store.update("API_EQUIPMENT", "Equipment", keys[5], {"EquipmentName": "Updated"})
    journal: list[Any] = []
    sandbox.store.journal = journal
    sandbox.store.update("API_EQUIPMENT", "Equipment", keys[6], {"EquipmentName": "Rolled back"})
    sandbox.store.rollback(journal)
    sandbox.store.journal = None
    assert_sap_pages(sandbox)
    assert table.rows[keys[6]]["EquipmentName"] != "Rolled back"


def test_sap_filter_errors_stay_errors() -> None:
    sandbox = SapSandbox(records=5, seed=3)
    status, _, body = sandbox.dispatch(
        "API_EQUIPMENT", "GET", "Equipment", {"$filter": "Nope eq 1"}, b"", ORIGIN
    )
    assert status == 400 and "Nope" in body["error"]["message"]["value"]
    with pytest.raises(QueryError):
        parse_filter("Equipment eq", ["Equipment"])


def test_sap_confirmation_numbers_count_the_group() -> None:
    sandbox = SapSandbox(records=40, seed=3)
    table = sandbox.store.table("API_PROD_ORDER_CONFIRMATION_2_SRV", "ProdnOrdConf2")
    groups: dict[str, list[str]] = {}
    for group, count in table.rows:
        groups.setdefault(group, []).append(count)
    assert all(
        sorted(c) == [str(i).zfill(8) for i in range(1, len(c) + 1)] for c in groups.values()
    )
    group, count = next(iter(table.rows))
    created = sandbox.store.create(
        "API_PROD_ORDER_CONFIRMATION_2_SRV",
        "ProdnOrdConf2",
        {"OrderID": str(int(group)), "OrderOperation": "0010"},
        validate=False,
    )
    assert created["ConfirmationCount"] == str(len(groups[group]) + 1).zfill(8)


# -- Dynamics --------------------------------------------------------------------------------

ASSET_SET = "msdyn_customerassets"
DYNAMICS_QUERIES = [
    "",
    "$select=msdyn_name,modifiedon",
    "$filter=modifiedon ge 2024-01-01T01:00:00Z",
]


def dynamics_pages(sandbox: DynamicsSandbox, query: str, prefer: str) -> tuple[list[Any], Any]:
    """(key or ("deleted", key)) of every row over the pages, and the last page."""
    path, keys = ASSET_SET, []
    for _ in range(100):
        answer = sandbox.dispatch("GET", ORIGIN, path, query, {"Prefer": prefer}, b"")
        assert answer.status == 200, answer.body
        for row in answer.body["value"]:
            keys.append(("deleted", row["id"]) if "id" in row else row["msdyn_customerassetid"])
        following = answer.body.get("@odata.nextLink")
        if not following:
            return keys, answer.body
        path, _, query = following[len(ORIGIN + "/api/data/v9.2/") :].partition("?")
    raise AssertionError("no end of the pages")


def dynamics_reference(sandbox: DynamicsSandbox, since: int | None = None) -> list[Any]:
    """Every row (or every change after ``since``) in key order, as a full sort gave it."""
    rows = sandbox.store.tables[ASSET_SET].rows
    if since is None:
        return sorted(rows)
    items: dict[str, Any] = {
        k: ("deleted", k) for k, v in sandbox.store.tombstones[ASSET_SET].items() if v > since
    }
    items.update({k: k for k, r in rows.items() if r["versionnumber"] > since})
    return [items[k] for k in sorted(items)]


def test_dynamics_next_links_and_deltas_follow_writes_and_edits() -> None:
    sandbox = DynamicsSandbox(records=120, seed=3)
    keys, last = dynamics_pages(sandbox, "", "odata.maxpagesize=50,odata.track-changes")
    assert keys == dynamics_reference(sandbox)
    token = last["@odata.deltaLink"].split("$deltatoken=")[1]
    since = int(token.split("!")[0])
    for query in DYNAMICS_QUERIES:
        assert dynamics_pages(sandbox, query, "odata.maxpagesize=17")[0] == [
            k
            for k in dynamics_reference(sandbox)
            if "modifiedon" not in query
            or sandbox.store.tables[ASSET_SET].rows[k]["modifiedon"] >= "2024-01-01T01:00:00Z"
        ]

    rows = sandbox.store.tables[ASSET_SET].rows
    every = sorted(rows)
    for key in every[::11]:
        sandbox.dispatch(
            "PATCH", ORIGIN, f"{ASSET_SET}({key})", "", {}, b'{"msdyn_name": "Renamed"}'
        )
    for key in every[1::13]:
        sandbox.dispatch("DELETE", ORIGIN, f"{ASSET_SET}({key})", "", {}, b"")
    sandbox.dispatch("PATCH", ORIGIN, f"{ASSET_SET}({every[1]})", "", {}, b'{"msdyn_name": "Back"}')
    rows[every[2]]["msdyn_name"] = "Edited in place"
    store = sandbox.store
    version = store.begin()
    store.delete(ASSET_SET, every[3])
    store.upsert(
        ASSET_SET, every[4], {"msdyn_name": "Rolled back"}, must_exist=True, must_not_exist=False
    )
    store.rollback(version)
    store.end()
    assert every[3] in rows and rows[every[4]]["msdyn_name"] != "Rolled back"

    for prefer in ("odata.maxpagesize=17", "odata.maxpagesize=3"):
        keys, _ = dynamics_pages(sandbox, f"$deltatoken={token}", prefer)
        assert keys == dynamics_reference(sandbox, since)
        assert ("deleted", every[14]) in keys and every[1] in keys
    assert dynamics_pages(sandbox, "", "odata.maxpagesize=17")[0] == dynamics_reference(sandbox)


def test_dynamics_top_counts_from_the_cookie() -> None:
    sandbox = DynamicsSandbox(records=30, seed=3)
    every = dynamics_reference(sandbox)
    answer = sandbox.dispatch("GET", ORIGIN, ASSET_SET, "$top=4", {}, b"")
    assert [r["msdyn_customerassetid"] for r in answer.body["value"]] == every[:4]
    assert "@odata.nextLink" not in answer.body
