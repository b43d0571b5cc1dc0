"""Maintenance order status changes against the in-process SAP sandbox, which enforces SAP's
order life cycle (release before TECO, TECO before close)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plantsync.connectors.base import PushRecord
from plantsync.connectors.sap.connector import SapConnector
from plantsync.entities import EntityType
from plantsync.errors import ERPValidationError
from plantsync.sandbox.sap.app import SapSandbox

Make = Callable[..., SapConnector]


def _row(sandbox: SapSandbox, key: str | None) -> dict[str, Any]:
    return next(r for r in sandbox.dump("work_order") if r["MaintenanceOrder"] == key)


def test_new_order_pushed_closed_lands_closed(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    record = PushRecord(
        "w1",
        {
            "MaintenanceOrderDesc": "Replace seal",
            "Equipment": "10000001",
            "SystemStatusText": "CLSD",
        },
        reference="ref-closed",
    )
    [result] = make_connector().push(EntityType.work_order, [record])
    assert result.ok and result.created, result.error
    assert _row(sap_sandbox, result.erp_key)["SystemStatusText"] == "CLSD"


def test_released_order_pushed_completed_gets_only_teco(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    connector = make_connector()
    [made] = connector.push(
        EntityType.work_order,
        [PushRecord("w1", {"MaintenanceOrderDesc": "Oil", "SystemStatusText": "REL"})],
    )
    assert _row(sap_sandbox, made.erp_key)["SystemStatusText"] == "REL"
    update = PushRecord(
        "w1", {"MaintenanceOrderDesc": "Oiled", "SystemStatusText": "TECO"}, erp_key=made.erp_key
    )
    # the sandbox refuses a repeated release: only the TECO step may be sent
    [done] = connector.push(EntityType.work_order, [update])
    assert done.ok and not done.created, done.error
    row = _row(sap_sandbox, made.erp_key)
    assert (row["MaintenanceOrderDesc"], row["SystemStatusText"]) == ("Oiled", "TECO")
    # pushed again unchanged: nothing to do, still fine
    [again] = connector.push(EntityType.work_order, [update])
    assert again.ok and _row(sap_sandbox, made.erp_key)["SystemStatusText"] == "TECO"


def test_backwards_change_is_that_records_readable_error(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    connector = make_connector()
    [closed, other] = connector.push(
        EntityType.work_order,
        [
            PushRecord("w1", {"MaintenanceOrderDesc": "Done", "SystemStatusText": "CLSD"}),
            PushRecord("w2", {"MaintenanceOrderDesc": "Open", "SystemStatusText": "CRTD"}),
        ],
    )
    assert closed.ok and other.ok
    back, fine = connector.push(
        EntityType.work_order,
        [
            PushRecord(
                "w1",
                {"MaintenanceOrderDesc": "Reopen", "SystemStatusText": "REL"},
                erp_key=closed.erp_key,
            ),
            PushRecord("w2", {"SystemStatusText": "TECO"}, erp_key=other.erp_key),
        ],
    )
    assert isinstance(back.error, ERPValidationError)
    message = str(back.error)
    assert f"SAP order {closed.erp_key} is CLSD" in message and "from CLSD to REL" in message
    row = _row(sap_sandbox, closed.erp_key)
    assert (row["MaintenanceOrderDesc"], row["SystemStatusText"]) == ("Done", "CLSD")
    assert fine.ok and _row(sap_sandbox, other.erp_key)["SystemStatusText"] == "TECO"


def test_order_flagged_for_deletion_in_sap_is_not_closed(
    make_connector: Make, sap_sandbox: SapSandbox
) -> None:
    connector = make_connector()
    [made] = connector.push(
        EntityType.work_order, [PushRecord("w1", {"MaintenanceOrderDesc": "Valve"})]
    )
    # someone set the deletion flag in SAP meanwhile: the chain to TECO is refused there
    sap_sandbox.store.call(
        "API_MAINTENANCEORDER", "SetMaintOrdStsToMrkdForDeltn", {"MaintenanceOrder": made.erp_key}
    )
    update = PushRecord(
        "w1", {"MaintenanceOrderDesc": "Valve 2", "SystemStatusText": "CLSD"}, erp_key=made.erp_key
    )
    [result] = connector.push(EntityType.work_order, [update])
    assert isinstance(result.error, ERPValidationError)
    assert "is DLFL" in str(result.error)
    assert _row(sap_sandbox, made.erp_key)["MaintenanceOrderDesc"] == "Valve"
