"""Maintenance order status changes on the wire (respx): which function imports, in which
order and in which changeset, for each target and starting status."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import respx

from plantsync.connectors.base import PushRecord
from plantsync.entities import Direction, EntityType
from plantsync.errors import ERPConfigurationError, ERPValidationError

from .conftest import ROOT, make_connector, metadata

SVC = f"{ROOT}/API_MAINTENANCEORDER/"
RELEASE = "ReleaseMaintenanceOrder"
TECO = "SetMaintOrdToTechCompleted"
CLOSE = "SetMaintOrderStatusToClosed"
_LINE = re.compile(rb"^(POST|MERGE|GET) (\S+) HTTP/1\.1", re.M)


class FakeGateway:
    """Answers ``$batch`` from the request itself and records each changeset's request lines."""

    def __init__(self, *, refuse: str | None = None) -> None:
        self.batches: list[list[list[str]]] = []
        self.refuse = refuse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        changesets = request.content.split(b"Content-Type: multipart/mixed; boundary=changeset_")
        sent = [[f"{m.decode()} {u.decode()}" for m, u in _LINE.findall(c)] for c in changesets[1:]]
        self.batches.append(sent)
        return _answer([self._changeset(lines) for lines in sent])

    def _changeset(self, lines: list[str]) -> list[tuple[int, dict[str, Any] | None]]:
        if self.refuse and any(self.refuse in line for line in lines):
            message = {"code": "IW/084", "message": {"value": f"{self.refuse} not allowed"}}
            return [(400, {"error": message})]
        out: list[tuple[int, dict[str, Any] | None]] = []
        for line in lines:
            if line == "POST MaintenanceOrder":
                out.append(
                    (201, {"d": {"MaintenanceOrder": "4000100", "SystemStatusText": "CRTD"}})
                )
            elif line.startswith("MERGE"):
                out.append((204, None))
            else:
                out.append((200, {"d": {"Success": True}}))
        return out

    def calls(self) -> list[list[list[str]]]:
        """Per batch, per changeset, the function import names and other methods."""
        return [
            [[line.split(" ")[1].split("?")[0] for line in cs] for cs in batch]
            for batch in self.batches
        ]


def _answer(changesets: list[list[tuple[int, dict[str, Any] | None]]]) -> httpx.Response:
    parts = []
    for responses in changesets:
        https = [
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\r\n"
            f"{json.dumps(body) if body is not None else ''}\r\n"
            for status, body in responses
        ]
        if len(responses) == 1 and responses[0][0] >= 400:
            parts.append(
                "--B\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\n\r\n{https[0]}"
            )
            continue
        inner = "".join(
            f"--C\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{h}"
            for h in https
        )
        parts.append(f"--B\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n{inner}--C--\r\n")
    body = "".join(parts) + "--B--\r\n"
    return httpx.Response(
        202, content=body.encode(), headers={"content-type": "multipart/mixed; boundary=B"}
    )


def _mock(mock: respx.MockRouter, gateway: FakeGateway, current: str | None = None) -> respx.Route:
    mock.get(f"{SVC}$metadata").mock(
        return_value=httpx.Response(200, content=metadata("API_MAINTENANCEORDER"))
    )
    mock.get(SVC, headers={"x-csrf-token": "Fetch"}).mock(
        return_value=httpx.Response(200, json={"d": {}}, headers={"x-csrf-token": "T"})
    )
    mock.post(f"{SVC}$batch").mock(side_effect=gateway)
    rows = [] if current is None else [{"MaintenanceOrder": "4000001", "SystemStatusText": current}]
    return mock.get(f"{SVC}MaintenanceOrder").mock(
        return_value=httpx.Response(200, json={"d": {"results": rows, "__count": str(len(rows))}})
    )


@pytest.mark.parametrize(
    ("target", "chain"),
    [
        ("CRTD", []),
        ("REL", [RELEASE]),
        ("TECO", [RELEASE, TECO]),
        ("CLSD", [RELEASE, TECO, CLOSE]),
        ("DLFL", ["SetMaintOrdStsToMrkdForDeltn"]),
    ],
)
@respx.mock(assert_all_called=False)
def test_new_order_gets_the_whole_chain_in_one_changeset(
    target: str, chain: list[str], respx_mock: respx.MockRouter
) -> None:
    gateway = FakeGateway()
    read = _mock(respx_mock, gateway)
    record = PushRecord("w1", {"MaintenanceOrderDesc": "Pump", "SystemStatusText": target})
    [result] = make_connector().push(EntityType.work_order, [record])
    assert result.ok and result.erp_key == "4000100" and result.created
    expected = [[["MaintenanceOrder"]]] + ([[chain]] if chain else [])
    assert gateway.calls() == expected
    assert not read.called  # the create answer says where the new order stands
    if chain:
        assert all("MaintenanceOrder='4000100'" in line for line in gateway.batches[1][0])


@pytest.mark.parametrize(
    ("current", "target", "chain"),
    [
        ("CRTD", "CLSD", [RELEASE, TECO, CLOSE]),
        ("REL  PRC MANC", "TECO", [TECO]),
        ("REL", "CLSD", [TECO, CLOSE]),
        ("TECO", "CLSD", [CLOSE]),
        ("CLSD", "CLSD", []),
        ("REL", "REL", []),
    ],
)
@respx.mock(assert_all_called=False)
def test_update_sends_the_missing_steps_with_the_merge(
    current: str, target: str, chain: list[str], respx_mock: respx.MockRouter
) -> None:
    gateway = FakeGateway()
    read = _mock(respx_mock, gateway, current)
    record = PushRecord(
        "w1", {"MaintenanceOrderDesc": "Pump", "SystemStatusText": target}, erp_key="4000001"
    )
    [result] = make_connector().push(EntityType.work_order, [record])
    assert result.ok and result.erp_key == "4000001" and not result.created
    assert gateway.calls() == [[["MaintenanceOrder('4000001')", *chain]]]
    params = read.calls[0].request.url.params
    assert params["$filter"] == "MaintenanceOrder eq '4000001'"
    assert params["$select"] == "MaintenanceOrder,SystemStatusText"


@respx.mock(assert_all_called=False)
def test_backwards_change_is_that_records_error_and_nothing_is_sent(
    respx_mock: respx.MockRouter,
) -> None:
    gateway = FakeGateway()
    _mock(respx_mock, gateway, "CLSD")
    records = [
        PushRecord("back", {"SystemStatusText": "REL"}, erp_key="4000001"),
        PushRecord("new", {"MaintenanceOrderDesc": "Belt"}),
    ]
    back, new = make_connector().push(EntityType.work_order, records)
    assert isinstance(back.error, ERPValidationError)
    message = str(back.error)
    assert "SAP order 4000001 is CLSD" in message and "from CLSD to REL" in message
    assert "TECO -> CLSD" in message and "not sent" in message
    assert new.ok
    assert gateway.calls() == [[["MaintenanceOrder"]]]  # only the other record's create


@respx.mock(assert_all_called=False)
def test_refused_chain_of_a_new_order_names_the_change_and_keeps_the_key(
    respx_mock: respx.MockRouter,
) -> None:
    gateway = FakeGateway(refuse=TECO)
    _mock(respx_mock, gateway)
    record = PushRecord("w1", {"MaintenanceOrderDesc": "Pump", "SystemStatusText": "CLSD"})
    [result] = make_connector().push(EntityType.work_order, [record])
    assert result.erp_key == "4000100" and result.created and not result.ok
    message = str(result.error)
    assert "created as 4000100" in message
    assert f"CRTD -> REL -> TECO -> CLSD ({RELEASE}, {TECO}, {CLOSE})" in message
    assert "order stays CRTD" in message and f"{TECO} not allowed" in message


@respx.mock(assert_all_called=False)
def test_refused_update_chain_says_nothing_was_applied(respx_mock: respx.MockRouter) -> None:
    gateway = FakeGateway(refuse=CLOSE)
    _mock(respx_mock, gateway, "REL")
    record = PushRecord("w1", {"SystemStatusText": "CLSD"}, erp_key="4000001")
    [result] = make_connector().push(EntityType.work_order, [record])
    assert isinstance(result.error, ERPValidationError)
    message = str(result.error)
    assert f"REL -> TECO -> CLSD ({TECO}, {CLOSE})" in message
    assert "none of it was applied, the order stays REL" in message


@respx.mock(assert_all_called=False)
def test_unknown_target_fails_before_anything_is_created(respx_mock: respx.MockRouter) -> None:
    gateway = FakeGateway()
    _mock(respx_mock, gateway)
    [result] = make_connector().push(
        EntityType.work_order, [PushRecord("w1", {"SystemStatusText": "XYZ"})]
    )
    assert isinstance(result.error, ERPValidationError)
    assert "no action sets SystemStatusText to XYZ" in str(result.error)
    assert gateway.batches == []


@respx.mock(assert_all_called=False)
def test_new_orders_go_in_batches_of_the_default_size(respx_mock: respx.MockRouter) -> None:
    gateway = FakeGateway()
    _mock(respx_mock, gateway)
    records = [
        PushRecord(f"w{i}", {"MaintenanceOrderDesc": f"o{i}", "SystemStatusText": "REL"})
        for i in range(250)
    ]
    results = make_connector().push(EntityType.work_order, records)
    assert all(r.ok and r.erp_key == "4000100" for r in results)
    # the creates, then each new order's release in its own changeset, 100 per $batch
    assert [len(batch) for batch in gateway.batches] == [100, 100, 50, 100, 100, 50]
    assert {tuple(cs) for batch in gateway.calls()[:3] for cs in batch} == {("MaintenanceOrder",)}
    assert {tuple(cs) for batch in gateway.calls()[3:] for cs in batch} == {(RELEASE,)}


@respx.mock(assert_all_called=False)
def test_batch_size_option_sets_changesets_per_batch(respx_mock: respx.MockRouter) -> None:
    gateway = FakeGateway()
    _mock(respx_mock, gateway)
    connector = make_connector()
    resource = connector.config.resource(EntityType.work_order, Direction.outbound)
    resource.options["batch_size"] = 2
    records = [PushRecord(f"w{i}", {"MaintenanceOrderDesc": f"o{i}"}) for i in range(5)]
    assert all(r.ok for r in connector.push(EntityType.work_order, records))
    assert [len(batch) for batch in gateway.batches] == [2, 2, 1]


@pytest.mark.parametrize("size", [0, -1, "50", 2.5, True])
@respx.mock(assert_all_called=False)
def test_invalid_batch_size_is_a_configuration_error(
    size: object, respx_mock: respx.MockRouter
) -> None:
    gateway = FakeGateway()
    _mock(respx_mock, gateway)
    connector = make_connector()
    resource = connector.config.resource(EntityType.work_order, Direction.outbound)
    resource.options["batch_size"] = size
    record = PushRecord("w1", {"MaintenanceOrderDesc": "Pump"})
    with pytest.raises(ERPConfigurationError, match=r"batch_size .* whole number >= 1"):
        connector.push(EntityType.work_order, [record])
    assert gateway.batches == []
