"""The SAP sandbox answers filters that name their rows (an OR of key equalities, an equality on
a reference property) by key or index: every answer -- rows, order, ``$select``, pages,
``__next``, ``$inlinecount``, ``/$count``, errors -- equals the general path's, which
``not (not (...))`` around the same filter forces; and such filters leave cached views alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from plantsync.sandbox.sap.app import SapSandbox
from plantsync.sandbox.sap.query import parse

ORIGIN = "https://sandbox.local"
ORDERS = ("API_MAINTENANCEORDER", "MaintenanceOrder")
EQUIPMENT = ("API_EQUIPMENT", "Equipment")
CONFIRMATIONS = ("API_PROD_ORDER_CONFIRMATION_2_SRV", "ProdnOrdConf2")
GUID = "0050569b-1f3e-1eda-a1d2-9c71b0e5a001"


def pages(sandbox: SapSandbox, where: tuple[str, str], query: dict[str, str]) -> list[Any]:
    """Each page's (status, body) following ``__next``; a link is kept as its query less
    ``$filter`` (the general path's link carries the wrapped filter)."""
    service, name = where
    out: list[Any] = []
    params = dict(query)
    for _ in range(50):
        status, _, body = sandbox.dispatch(service, "GET", name, params, b"", ORIGIN)
        if status != 200 or not isinstance(body, dict):
            return [*out, (status, body)]
        following = body["d"].pop("__next", None)
        link = dict(parse_qsl(urlsplit(following).query)) if following else None
        if link is not None:
            link.pop("$filter")
        out.append((status, body, link))
        if following is None:
            return out
        params = {**link, "$filter": query["$filter"]}  # type: ignore[dict-item]
    raise AssertionError("no end of the pages")


def count(sandbox: SapSandbox, where: tuple[str, str], query: dict[str, str]) -> Any:
    service, name = where
    status, _, body = sandbox.dispatch(service, "GET", f"{name}/$count", query, b"", ORIGIN)
    return status, body


def general(query: dict[str, str]) -> dict[str, str]:
    return {**query, "$filter": f"not (not ({query['$filter']}))"}


def assert_same(sandbox: SapSandbox, where: tuple[str, str], query: dict[str, str]) -> list[Any]:
    """The fast path's answer equals the general path's; returns it."""
    table = sandbox.store.table(*where)
    views = list(table.rows._views)
    fast = pages(sandbox, where, query)
    assert list(table.rows._views) == views, "a one-off filter made or moved a cached view"
    assert fast == pages(sandbox, where, general(query)), query
    assert count(sandbox, where, query) == count(sandbox, where, general(query))
    return fast


def keys_filter(name: str, values: list[str]) -> str:
    return " or ".join(f"{name} eq '{v}'" for v in values)


@pytest.fixture(scope="module")
def sandbox() -> SapSandbox:
    return SapSandbox(records=120, seed=5, page_size=7)


def order_numbers(sandbox: SapSandbox) -> list[str]:
    return [key[0] for key in sandbox.store.table(*ORDERS).rows]


@pytest.mark.parametrize(
    "extra",
    [
        {"$select": "MaintenanceOrder,SystemStatusText"},
        {"$orderby": "MaintPriority desc,MaintenanceOrderDesc", "$inlinecount": "allpages"},
        {"$skip": "3", "$top": "9", "$select": "MaintenanceOrderDesc"},
        {"$top": "0", "$inlinecount": "allpages"},
        {"$skiptoken": "50"},
        {"$skip": "-1"},
    ],
)
def test_key_equalities_answer_like_the_general_path(
    sandbox: SapSandbox, extra: dict[str, str]
) -> None:
    numbers = order_numbers(sandbox)
    # unsorted, a duplicate, a key that does not exist, one that differs only in width
    wanted = [*numbers[80:60:-1], numbers[70], "9999999", numbers[5].lstrip("0") + "0"]
    answer = assert_same(sandbox, ORDERS, {"$filter": keys_filter("MaintenanceOrder", wanted)})
    assert sum(len(body["d"]["results"]) for _, body, _ in answer) == 20
    assert_same(sandbox, ORDERS, {"$filter": keys_filter("MaintenanceOrder", wanted), **extra})


def test_multi_part_keys_and_more_conditions(sandbox: SapSandbox) -> None:
    rows = list(sandbox.store.table(*EQUIPMENT).rows.values())[:30]
    terms = [
        f"(Equipment eq '{r['Equipment']}' and ValidityEndDate eq "
        f"datetime'{r['ValidityEndDate']:%Y-%m-%dT%H:%M:%S}')"
        for r in rows
    ]
    both = " or ".join(terms)
    answer = assert_same(sandbox, EQUIPMENT, {"$filter": both, "$orderby": "EquipmentName"})
    assert sum(len(body["d"]["results"]) for _, body, _ in answer) == 30
    narrowed = (
        f"{terms[0]} or (EquipmentIsInactive eq false and {terms[1][1:-1]} and "
        f"CostCenter ne '{rows[1]['CostCenter']}') or "
        f"(ValidityEndDate eq datetime'9999-12-31T00:00:00' and Equipment eq '{rows[2]['Equipment']}'"
        f" and EquipmentName ne null)"
    )
    assert_same(sandbox, EQUIPMENT, {"$filter": narrowed, "$inlinecount": "allpages"})
    part = {"$filter": f"Equipment eq '{rows[0]['Equipment']}'"}  # part of the key: no index
    assert pages(sandbox, EQUIPMENT, part) == pages(sandbox, EQUIPMENT, general(part))


def test_reference_lookups_follow_writes(sandbox: SapSandbox) -> None:
    service, name = ORDERS
    numbers = order_numbers(sandbox)
    for i, number in enumerate(numbers[:12]):
        sandbox.store.update(service, name, (number,), {"ReferenceElement": f"PS-{i % 4}"})
    query = {"$filter": "ReferenceElement eq 'PS-1'", "$orderby": "MaintenanceOrder"}
    assert len(assert_same(sandbox, ORDERS, query)[0][1]["d"]["results"]) == 3
    table = sandbox.store.table(*ORDERS)
    table.rows[(numbers[1],)]["ReferenceElement"] = "PS-2"  # an edit in place
    sandbox.store.delete(service, name, (numbers[5],))
    copied = {k: v for k, v in table.rows[(numbers[9],)].items() if k != "MaintenanceOrder"}
    created = sandbox.store.create(service, name, copied, validate=False)
    for ref in ("PS-1", "PS-2", "PS-9"):
        assert_same(sandbox, ORDERS, {"$filter": f"ReferenceElement eq '{ref}'"})
    assert_same(
        sandbox,
        ORDERS,
        {
            "$filter": f"ReferenceElement eq 'PS-1' and MaintenanceOrder ne '{created['MaintenanceOrder']}'"
        },
    )


def test_reference_with_a_find_filter() -> None:
    sandbox = SapSandbox(records=30, seed=2)
    service = CONFIRMATIONS[0]
    table = sandbox.store.table(*CONFIRMATIONS)
    keys = list(table.rows)
    for key in keys[:6]:
        table.rows[key]["ExternalSystemConfirmation"] = GUID.upper()  # not updatable over OData
    sandbox.store.call(service, "CancelProdnOrdConf", dict(zip(table.es.key, keys[2], strict=True)))
    clause = f"ExternalSystemConfirmation eq guid'{GUID}'"
    found = assert_same(sandbox, CONFIRMATIONS, {"$filter": clause})
    assert len(found[0][1]["d"]["results"]) == 6  # a reversal does not carry the reference
    find = f"{clause} and (IsReversed eq false and IsReversal eq false)"
    assert len(assert_same(sandbox, CONFIRMATIONS, {"$filter": find})[0][1]["d"]["results"]) == 5


def test_a_row_whose_key_property_was_rewritten_is_still_found() -> None:
    sandbox = SapSandbox(records=20, seed=1)
    numbers = order_numbers(sandbox)
    table = sandbox.store.table(*ORDERS)
    table.rows[(numbers[3],)]["MaintenanceOrder"] = "7777777"
    for wanted in (["7777777"], [numbers[3], numbers[4]], ["7777777", numbers[3]]):
        assert_same(sandbox, ORDERS, {"$filter": keys_filter("MaintenanceOrder", wanted)})
    assert len(pages(sandbox, ORDERS, {"$filter": "MaintenanceOrder eq '7777777'"})) == 1
    table.rows[(numbers[3],)]["MaintenanceOrder"] = numbers[3]
    assert_same(sandbox, ORDERS, {"$filter": "MaintenanceOrder eq '7777777'"})


@pytest.mark.parametrize(
    "text",
    [
        "MaintenanceOrder eq 4000001 or MaintenanceOrder eq '4000002'",  # 400: str vs number
        "MaintenanceOrder eq '4000001' or MaintenanceOrder eq datetime'2024-01-01T00:00:00'",
        "MaintenanceOrder eq null or MaintenanceOrder eq '4000003'",
        "MaintenanceOrder eq '4000001' or Nope eq '1'",
        "ReferenceElement eq guid'0050569b-1f3e-1eda-a1d2-9c71b0e5a001'",
        "MaintenanceOrder eq '4000001' or MaintenanceOrderDesc eq 'Inspection 3'",
    ],
)
def test_filters_the_index_cannot_answer_answer_the_same(text: str) -> None:
    sandbox = SapSandbox(records=10, seed=4)
    first = pages(sandbox, ORDERS, {"$filter": text})
    assert first == pages(sandbox, ORDERS, general({"$filter": text}))
    assert count(sandbox, ORDERS, {"$filter": text}) == count(
        sandbox, ORDERS, general({"$filter": text})
    )


def test_a_filter_that_ends_too_early_is_refused() -> None:
    sandbox = SapSandbox(records=3, seed=4)
    (status, body), *_ = pages(sandbox, ORDERS, {"$filter": "MaintenanceOrder eq '4000001' or"})
    assert (status, body["error"]["message"]["value"]) == (400, "$filter ends too early")


def test_one_off_filters_leave_the_paging_view_in_place() -> None:
    sandbox = SapSandbox(records=40, seed=6, page_size=10)
    pages(sandbox, ORDERS, {"$filter": "MaintPriority eq '2'", "$orderby": "MaintenanceOrderDesc"})
    table = sandbox.store.table(*ORDERS)
    before = {query: id(view) for query, view in table.rows._views.items()}
    for number in order_numbers(sandbox):
        pages(sandbox, ORDERS, {"$filter": f"MaintenanceOrder eq '{number}'"})
        pages(sandbox, ORDERS, {"$filter": f"ReferenceElement eq 'PS-{number}'"})
    assert {query: id(view) for query, view in table.rows._views.items()} == before


def test_generated_values_have_their_property_type() -> None:
    """What the index's exactness rests on: stored values are of their property's type."""
    sandbox = SapSandbox(records=15, seed=7)
    kinds = {
        "Edm.String": str,
        "Edm.Boolean": bool,
        "Edm.DateTime": datetime,
        "Edm.DateTimeOffset": datetime,
    }
    checked = 0
    for table in sandbox.store.tables.values():
        for row in table.rows.values():
            for name, value in row.items():
                kind = kinds.get(table.es.properties[name].edm_type)
                if kind is not None:
                    assert type(value) is kind, (table.es.name, name, value)
                    checked += 1
                if isinstance(value, datetime):
                    assert value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None)
    assert checked > 500


def test_terms_of_filters() -> None:
    fields = ["A", "B", "C"]
    assert parse("A eq '1' or (B eq 2 and (C ne null))", fields).terms == [
        (("A", "eq", "1"),),
        (("B", "eq", 2), ("C", "ne", None)),
    ]
    for text in ("A eq '1' or B gt 2", "not (A eq '1')", "(A eq '1' or B eq 2) and C eq 3", ""):
        assert parse(text, fields).terms is None, text
