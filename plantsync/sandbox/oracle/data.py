"""Generated plant data for the Oracle sandbox: the rows every resource starts with.

Deterministic per seed; maintenance work orders and downtime events point at the asset
generated with the same index.
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from plantsync.sandbox.oracle.store import RESOURCES, State, ts
from plantsync.sandbox.table import Row, Rows, generating

_EPOCH = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)


@generating()
def generate(*, records: int, seed: int) -> State:
    """A fresh state with ``records`` generated rows per resource (deterministic per seed)."""
    state = State()
    rng = random.Random(seed)  # noqa: S311 - test data
    made: dict[str, list[tuple[int, Row]]] = {name: [] for name in RESOURCES}
    keys = {name: RESOURCES[name].key for name in RESOURCES}
    for i in range(records):
        stamps: dict[int, str] = {}  # the rows of one index share their few distinct stamps
        for name, make in _GENERATORS.items():
            row = make(rng, i)
            state.next_id += 1
            row[keys[name]] = state.next_id
            minutes = 7 * i + rng.randint(0, 6)
            stamp = stamps.get(minutes) or stamps.setdefault(
                minutes, ts(_EPOCH + timedelta(minutes=minutes))
            )
            row["CreationDate"] = row["LastUpdateDate"] = stamp
            made[name].append((state.next_id, Row(row)))
    state.rows = {name: Rows(made[name]) for name in RESOURCES}
    return state


# -- generated data ------------------------------------------------------------------------

_ORGS = ("M1", "M2", "SEA")
_KINDS = ("CNC-MILL", "PRESS-200T", "LATHE", "ROBOT-WELD", "PACKER")
_STATUSES = ("ORA_RELEASED", "ORA_UNRELEASED", "ORA_COMPLETED", "ORA_CLOSED")


def _asset(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.choice(_KINDS)
    return {
        "AssetNumber": f"AST-{10000 + i}",
        "Description": f"{kind.title()} {i + 1}",
        "ItemNumber": kind,
        "SerialNumber": f"SN{rng.randint(100000, 999999)}",
        "AssetTag": None,
        "OrganizationCode": rng.choice(_ORGS),
        "WorkCenterCode": f"WC-{rng.randint(1, 9)}",
        "MaintainableFlag": True,
        "ActiveEndDate": None,
    }


def _asset_id(i: int) -> int:
    """The id ``reset`` gives the i-th asset (ids are handed out resource by resource)."""
    return State.next_id + 1 + len(_GENERATORS) * i


def _dates(rng: random.Random, i: int) -> tuple[str, str]:
    start = _EPOCH + timedelta(days=i % 60, hours=rng.randint(0, 16))
    return _ts(start), _ts(start + timedelta(hours=rng.randint(1, 48)))


# Planned dates come from ~50,000 instants: their text is made once and shared by the rows.
_ts = functools.lru_cache(maxsize=1 << 16)(ts)


def _work_order(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    planned = rng.randint(10, 500)
    return {
        "WorkOrderNumber": f"WO-{200000 + i}",
        "OrganizationCode": rng.choice(_ORGS),
        "ItemNumber": f"FG-{rng.randint(1000, 9999)}",
        "WorkOrderDescription": f"Production run {i + 1}",
        "PlannedStartQuantity": planned,
        "CompletedQuantity": rng.randint(0, planned),
        "ScrappedQuantity": rng.randint(0, 5),
        "WorkOrderStatusCode": rng.choice(_STATUSES),
        "WorkOrderPriority": rng.randint(1, 4),
        "PlannedStartDate": start,
        "PlannedCompletionDate": end,
        "ActualStartDate": None,
        "ActualCompletionDate": None,
    }


def _maintenance(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "WorkOrderNumber": f"MWO-{300000 + i}",
        "WorkOrderDescription": f"Inspect spindle {i + 1}",
        "OrganizationCode": rng.choice(_ORGS),
        "AssetId": _asset_id(i),
        "AssetNumber": f"AST-{10000 + i}",
        "WorkOrderTypeCode": "ORA_CORRECTIVE",
        "WorkOrderSubTypeCode": None,
        "WorkOrderStatusCode": rng.choice(_STATUSES),
        "WorkOrderPriority": rng.randint(1, 4),
        "PlannedStartDate": start,
        "PlannedCompletionDate": end,
        "ActualStartDate": None,
        "ActualCompletionDate": None,
    }


def _downtime(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "ExternalReference": None,
        "AssetId": _asset_id(i),
        "WorkOrderId": None,
        "StartDate": start,
        "EndDate": end,
        "DurationMinutes": rng.randint(5, 240),
        "ReasonCode": rng.choice(("JAM", "TOOL", "MAT")),
        "PlannedFlag": rng.random() < 0.3,
        "FailureCode": None,
        "CauseCode": None,
        "SourceCode": "ORA_MANUAL",
        "Description": f"Stop {i + 1}",
        "OrganizationCode": rng.choice(_ORGS),
    }


def _production(rng: random.Random, i: int) -> dict[str, Any]:
    start, end = _dates(rng, i)
    return {
        "ExternalReference": None,
        "AssetId": None,
        "WorkOrderId": None,
        "OperationSequence": 10,
        "StartDate": start,
        "EndDate": end,
        "GoodQuantity": rng.randint(10, 400),
        "ScrapQuantity": rng.randint(0, 8),
        "RunMinutes": rng.randint(30, 480),
        "DowntimeMinutes": rng.randint(0, 30),
        "FinalFlag": False,
        "OrganizationCode": rng.choice(_ORGS),
    }


_GENERATORS = {
    "installedBaseAssets": _asset,
    "workOrders": _work_order,
    "maintenanceWorkOrders": _maintenance,
    "plantDowntimeEvents": _downtime,
    "plantProductionReports": _production,
}
