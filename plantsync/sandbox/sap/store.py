"""The SAP sandbox's data: generated rows per entity set, writes checked against the real
metadata, SAP-assigned numbers, and the function imports the default mapping uses.

Writes that break the metadata are refused with SAP-style messages (``schema.check_body``).
Every change is journalled, so a failing
``$batch`` changeset is rolled back as a whole.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from plantsync.connectors.sap.metadata import EntitySet, ServiceModel
from plantsync.sandbox.derived import Counter
from plantsync.sandbox.sap.schema import ENTITY_SETS, SapError, Table, check_body
from plantsync.sandbox.table import generating

_ORDERS = ("API_PRODUCTION_ORDER_2_SRV", "A_ProductionOrder_2")
_BASE_TIME = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
# Numbers SAP assigns on create, by entity set: (key property, first number, width).
_NUMBERING = {
    "MaintenanceOrder": ("MaintenanceOrder", 4000000, 7),
    "MaintenanceNotification": ("MaintenanceNotification", 10000000, 8),
}
# Maintenance order status function import -> (status it sets, statuses it is allowed from):
# SAP's order life cycle -- release a created order, technically complete a released one,
# close a technically completed one; a step already done is refused like any other.
_MAINT_STATUS = {
    "ReleaseMaintenanceOrder": ("REL", ("CRTD",)),
    "SetMaintOrdToTechCompleted": ("TECO", ("REL",)),
    "SetMaintOrderStatusToClosed": ("CLSD", ("TECO",)),
    "SetMaintOrdStsToMrkdForDeltn": ("DLFL", ("CRTD", "REL", "TECO")),
}


class Store:
    """All tables of all services, plus the undo journal of the current changeset."""

    def __init__(self, models: Mapping[str, tuple[bytes, ServiceModel]]) -> None:
        self.models = models
        self.tables: dict[tuple[str, str], Table] = {}
        self.journal: list[tuple[Table, tuple[Any, ...], dict[str, Any] | None]] | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._counters: dict[str, int] = {}

    def table(self, service: str, name: str) -> Table:
        found = self.tables.get((service, name))
        if found is None:
            es = self.models[service][1].entity_set(name)
            if es is None:
                raise SapError(
                    404, f"Resource not found for segment '{name}'", "/IWBEP/CM_MGW_RT/021"
                )
            found = Table.of(es)
            self.tables[(service, name)] = found
        return found

    # --- generation ------------------------------------------------------------------------

    @generating()
    def generate(self, records: int, seed: int) -> None:
        self.tables.clear()
        self._counters.clear()
        rnd = random.Random(seed)  # noqa: S311 - generated test data, not cryptography
        for i in range(records):
            self._equipment(i, rnd)
            self._production_order(i, rnd)
        for i in range(records):
            self._maintenance_order(i, rnd)
            self._notification(i, rnd)
            self._confirmation(i, rnd, records)

    def _put(self, service: str, name: str, row: dict[str, Any]) -> dict[str, Any]:
        table = self.table(service, name)
        return table.rows.put(table.key_of(row), table.values_of(row))

    def _equipment(self, i: int, rnd: random.Random) -> None:
        number = str(10000000 + i)
        start = _BASE_TIME.replace(hour=0) - timedelta(days=400 + rnd.randint(0, 300))
        kinds = ("PRESS", "LATHE", "MILL", "ROBOT", "OVEN")
        base = {
            "Equipment": number,
            "EquipmentName": f"{kinds[i % 5].title()} {i + 1:04d}",
            "TechnicalObjectType": kinds[i % 5],
            "AssetManufacturerName": rnd.choice(("Trumpf", "DMG Mori", "KUKA", "Fanuc")),
            "ManufacturerPartTypeName": f"M-{rnd.randint(100, 999)}",
            "ManufacturerSerialNumber": f"SN{seed_digits(rnd)}",
            "CostCenter": f"CC{1000 + i % 7}",
            "MaintenancePlant": "1010",
            "EquipmentIsInactive": i % 17 == 16,
            "EquipmentIsMarkedForDeletion": False,
            "LastChangeDateTime": _BASE_TIME + timedelta(minutes=i),
        }
        if i % 3 == 0:  # an expired earlier validity period
            old_end = start - timedelta(days=1)
            self._put(
                "API_EQUIPMENT",
                "Equipment",
                {
                    **base,
                    "EquipmentName": f"(old) {base['EquipmentName']}",
                    "ValidityStartDate": old_end - timedelta(days=365),
                    "ValidityEndDate": old_end,
                },
            )
        self._put(
            "API_EQUIPMENT",
            "Equipment",
            {
                **base,
                "ValidityStartDate": start,
                "ValidityEndDate": _END_OF_TIME,
            },
        )

    def _production_order(self, i: int, rnd: random.Random) -> None:
        start = _BASE_TIME + timedelta(days=i % 60)
        self._put(
            *_ORDERS,
            {
                "ManufacturingOrder": str(1000000 + i),
                "ManufacturingOrderType": "PP01",
                "OrderIsReleased": "" if i % 5 == 4 else "X",
                "Material": f"FG-{100 + i % 40}",
                "ProductionPlant": "1010",
                "TotalQuantity": Decimal(rnd.randint(10, 5000)),
                "MfgOrderPlannedScrapQty": Decimal(0),
                "MfgOrderConfirmedYieldQty": Decimal(0),
                "ProductionUnit": "PC",
                "MfgOrderPlannedStartDate": start.replace(hour=0),
                "MfgOrderPlannedStartTime": time(6, 0),
                "MfgOrderPlannedEndDate": start.replace(hour=0) + timedelta(days=2),
                "MfgOrderPlannedEndTime": time(22, 0),
                "LastChangeDateTime": (_BASE_TIME + timedelta(minutes=i)).strftime("%Y%m%d%H%M%S"),
            },
        )

    def _maintenance_order(self, i: int, rnd: random.Random) -> None:
        self.create(
            "API_MAINTENANCEORDER",
            "MaintenanceOrder",
            {
                "MaintenanceOrderType": "PM01",
                "MaintenanceOrderDesc": f"Inspection {i + 1}",
                "Equipment": str(10000000 + rnd.randrange(max(1, i + 1))),
                "MaintenancePlanningPlant": "1010",
                "MaintPriority": str(1 + i % 4),
            },
            validate=False,
        )

    def _notification(self, i: int, rnd: random.Random) -> None:
        self.create(
            "API_MAINTNOTIFICATION",
            "MaintenanceNotification",
            {
                "NotificationText": f"Breakdown {i + 1}",
                "NotificationType": "M2",
                "TechnicalObject": str(10000000 + rnd.randrange(max(1, i + 1))),
                "MaintenanceObjectIsDown": True,
            },
            validate=False,
        )

    def _confirmation(self, i: int, rnd: random.Random, records: int) -> None:
        self.create(
            "API_PROD_ORDER_CONFIRMATION_2_SRV",
            "ProdnOrdConf2",
            {
                "OrderID": str(1000000 + rnd.randrange(max(1, records))),
                "OrderOperation": "0010",
                "ConfirmationYieldQuantity": Decimal(rnd.randint(1, 100)),
            },
            validate=False,
        )

    # --- writes ----------------------------------------------------------------------------

    def _remember(self, table: Table, key: tuple[Any, ...]) -> None:
        if self.journal is not None:
            old = table.rows.get(key)
            self.journal.append((table, key, dict(old) if old is not None else None))

    def rollback(self, journal: list[tuple[Table, tuple[Any, ...], dict[str, Any] | None]]) -> None:
        for table, key, old in reversed(journal):
            if old is None:
                table.rows.pop(key, None)
            else:
                table.rows[key] = old

    def create(
        self, service: str, name: str, body: Mapping[str, Any], *, validate: bool = True
    ) -> dict[str, Any]:
        table = self.table(service, name)
        if not table.es.creatable:
            raise SapError(405, f"Entity set {name} cannot be created", "/IWBEP/CM_MGW_RT/022")
        values = check_body(table.es, body, create=True) if validate else dict(body)
        row = table.values_of(values)
        self._assign_keys(service, table, row)
        self._defaults(table.es, row)
        key = table.key_of(row)
        if key in table.rows:
            raise SapError(400, f"{name} {'/'.join(map(str, key))} already exists")
        self._remember(table, key)
        return table.rows.put(key, table.values_of(row))

    def update(
        self, service: str, name: str, key: tuple[Any, ...], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        table = self.table(service, name)
        row = self.get(service, name, key)
        if not table.es.updatable:
            raise SapError(405, f"Entity set {name} cannot be updated", "/IWBEP/CM_MGW_RT/022")
        values = check_body(table.es, body, create=False)
        self._remember(table, key)
        row.update(values)
        if (
            "LastChangeDateTime" in table.es.properties
            and table.es.properties["LastChangeDateTime"].edm_type != "Edm.String"
        ):
            row["LastChangeDateTime"] = self.clock()
        return row

    def get(self, service: str, name: str, key: tuple[Any, ...]) -> dict[str, Any]:
        table = self.table(service, name)
        row = table.rows.get(key)
        if row is None:
            raise SapError(404, f"Resource not found for segment '{name}'", "/IWBEP/CM_MGW_RT/020")
        return row

    def _next_number(self, name: str, first: int) -> int:
        self._counters[name] = self._counters.get(name, first - 1) + 1
        return self._counters[name]

    def _assign_keys(self, service: str, table: Table, row: dict[str, Any]) -> None:
        name = table.es.name
        if name in _NUMBERING and not row.get(_NUMBERING[name][0]):
            field, first, width = _NUMBERING[name]
            row[field] = str(self._next_number(name, first)).zfill(width)
        if name == "ProdnOrdConf2":
            self._confirmation_keys(row)

    def _confirmation_keys(self, row: dict[str, Any]) -> None:
        order = row.get("OrderID")
        orders = self.table(*_ORDERS).rows
        if not order or (str(order),) not in orders:
            raise SapError(400, f"Order {order or '(none)'} does not exist", "RU/105")
        group = str(int(order) % 10**10).zfill(10)
        rows = self.table(*ENTITY_SETS["production_data"]).rows
        groups = rows.derived("group", lambda: Counter(rows, lambda key, _row: key[0]))
        row["ConfirmationGroup"] = group
        row["ConfirmationCount"] = str(groups.count(group) + 1).zfill(8)  # type: ignore[attr-defined]

    def _defaults(self, es: EntitySet, row: dict[str, Any]) -> None:
        now, name = self.clock(), es.name
        if "LastChangeDateTime" in es.properties and name != "A_ProductionOrder_2":
            row["LastChangeDateTime"] = now
        if name == "MaintenanceOrder":
            row["SystemStatusText"] = row.get("SystemStatusText") or "CRTD"
            row["MaintOrderCreationDateTime"] = now
        elif name == "MaintenanceNotification":
            row["NotifProcessingPhase"] = "1"
            row["CreationDate"] = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elif name == "ProdnOrdConf2":
            row["IsReversed"] = bool(row.get("IsReversed"))
            row["IsReversal"] = bool(row.get("IsReversal"))
            row["ConfirmationEntryDate"] = now.replace(hour=0, minute=0, second=0, microsecond=0)

    # --- function imports ------------------------------------------------------------------

    def delete(self, service: str, name: str, key: tuple[Any, ...]) -> None:
        table = self.table(service, name)
        self.get(service, name, key)
        self._remember(table, key)
        table.rows.pop(key)

    def call(
        self, service: str, name: str, args: Mapping[str, Any]
    ) -> tuple[Table, dict[str, Any]] | None:
        """Run a function import; returns the entity it answers with (or None)."""
        if name in _MAINT_STATUS:
            self._maintenance_status(name, args)
            return None
        if name == "CancelProdnOrdConf":
            return self.table(*ENTITY_SETS["production_data"]), self._cancel_confirmation(args)
        if name == "ReleaseOrder":
            row = self.get(*_ORDERS, (args.get("ManufacturingOrder"),))
            self._remember(self.table(*_ORDERS), (row["ManufacturingOrder"],))
            row["OrderIsReleased"] = "X"
            return self.table(*_ORDERS), row
        if name in ("SetMaintNotifToInProcess", "CompleteMaintNotification"):
            table = self.table(service, "MaintenanceNotification")
            row = self.get(
                service, "MaintenanceNotification", (args.get("MaintenanceNotification"),)
            )
            self._remember(table, (row["MaintenanceNotification"],))
            row["NotifProcessingPhase"] = "4" if name.startswith("Complete") else "2"
            return table, row
        raise SapError(400, f"Function import {name} is not supported by this sandbox")

    def _maintenance_status(self, name: str, args: Mapping[str, Any]) -> None:
        service, set_name = ENTITY_SETS["work_order"]
        key = (args.get("MaintenanceOrder"),)
        row = self.get(service, set_name, key)
        target, allowed_from = _MAINT_STATUS[name]
        current = row.get("SystemStatusText") or "CRTD"
        if current not in allowed_from:
            raise SapError(
                400, f"Order {key[0]}: status {current} does not allow {target}", "IW/084"
            )
        self._remember(self.table(service, set_name), key)
        row["SystemStatusText"] = target
        row["LastChangeDateTime"] = self.clock()
        return None

    def _cancel_confirmation(self, args: Mapping[str, Any]) -> dict[str, Any]:
        service, name = ENTITY_SETS["production_data"]
        key = (args.get("ConfirmationGroup"), args.get("ConfirmationCount"))
        row = self.get(service, name, key)
        if row.get("IsReversed") or row.get("IsReversal"):
            raise SapError(400, f"Confirmation {key[0]}/{key[1]} is already cancelled", "RU/302")
        table = self.table(service, name)
        self._remember(table, key)
        row["IsReversed"] = True
        reversal = {k: v for k, v in row.items() if k not in ("ExternalSystemConfirmation",)}
        reversal.update({"IsReversed": False, "IsReversal": True})
        reversal["ConfirmationCount"] = None
        self._confirmation_keys(reversal)
        self._remember(table, table.key_of(reversal))
        return table.rows.put(table.key_of(reversal), reversal)


def seed_digits(rnd: random.Random) -> str:
    return str(rnd.randint(10**7, 10**8 - 1))
