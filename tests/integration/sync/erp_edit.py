"""Changing machine master data inside the sandbox ERPs, the way ERP users would, and the
machines each ERP says the plant should have. Works on the in-memory stores directly (the
sandbox runs in this process), under each provider's lock."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.connectors.conftest import SandboxHandle

SAP_SET = ("API_EQUIPMENT", "Equipment")
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


class MachineEditor:
    """Add / rename / deactivate machines in one provider's sandbox."""

    def __init__(self, handle: SandboxHandle, provider: str) -> None:
        self.provider = provider
        self.sandbox: Any = handle.runner.sandbox.providers[provider]  # type: ignore[attr-defined]

    # -- per provider rows -------------------------------------------------------------------

    def _rows(self) -> dict[Any, dict[str, Any]]:
        if self.provider == "sap":
            table = self.sandbox.store.table(*SAP_SET)
            return {k: r for k, r in table.rows.items() if r["ValidityEndDate"] == END_OF_TIME}
        if self.provider == "dynamics":
            return dict(self.sandbox.store.tables["msdyn_customerassets"].rows)
        return dict(self.sandbox.state.rows["installedBaseAssets"])

    def keys(self) -> list[Any]:
        with self.sandbox._lock if self.provider != "oracle" else _null():
            return sorted(self._rows())

    def _stamp(self, row: dict[str, Any], at: datetime | None) -> None:
        moment = at or datetime.now(UTC)
        if self.provider == "sap":
            row["LastChangeDateTime"] = moment
        elif self.provider == "dynamics":
            store = self.sandbox.store
            store.version += 1
            row["versionnumber"] = store.version
            row["modifiedon"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            row["LastUpdateDate"] = moment.astimezone(UTC).isoformat(timespec="milliseconds")

    def add(self, name: str, *, at: datetime | None = None) -> str:
        """A new machine; returns its plant code."""
        with self._locked():
            template = copy.deepcopy(next(iter(self._rows().values())))
            if self.provider == "sap":
                number = str(19000000 + int(uuid.uuid4().int % 999999))
                template.update(Equipment=number, EquipmentName=name, EquipmentIsInactive=False)
                self._stamp(template, at)
                table = self.sandbox.store.table(*SAP_SET)
                table.rows[table.key_of(template)] = template
                return number
            if self.provider == "dynamics":
                key = str(uuid.uuid4())
                tag = f"NEW-{key[:8]}"
                template.update(msdyn_customerassetid=key, msdyn_assettag=tag, msdyn_name=name)
                self._stamp(template, at)
                self.sandbox.store.tables["msdyn_customerassets"].rows[key] = template
                return tag
            asset_id = self.sandbox.state.new_id()
            number = f"AST-N{asset_id % 100000}"
            template.update(AssetId=asset_id, AssetNumber=number, Description=name)
            self._stamp(template, at)
            self.sandbox.state.rows["installedBaseAssets"][asset_id] = template
            return number

    def rename(self, key: Any, name: str, *, at: datetime | None = None) -> None:
        with self._locked():
            row = self._rows()[key]
            field = {"sap": "EquipmentName", "dynamics": "msdyn_name"}.get(
                self.provider, "Description"
            )
            row[field] = name
            self._stamp(row, at)

    def deactivate(self, key: Any) -> None:
        with self._locked():
            if self.provider == "sap":
                row = self._rows()[key]
                row["EquipmentIsInactive"] = True
                self._stamp(row, None)
            elif self.provider == "dynamics":
                self.sandbox.store.delete("msdyn_customerassets", key)
            else:
                raise ValueError("Oracle installed-base pulls carry no deactivation")

    def expected(self) -> dict[str, tuple[str, bool]]:
        """Plant code -> (name, active) for every machine the ERP has."""
        with self._locked():
            rows = list(self._rows().values())
        if self.provider == "sap":
            return {
                r["Equipment"]: (
                    r["EquipmentName"],
                    not (r["EquipmentIsInactive"] or r["EquipmentIsMarkedForDeletion"]),
                )
                for r in rows
            }
        if self.provider == "dynamics":
            return {r["msdyn_assettag"]: (r["msdyn_name"], True) for r in rows}
        return {r["AssetNumber"]: (r["Description"], True) for r in rows}

    def _locked(self) -> Any:
        return self.sandbox._lock if self.provider != "oracle" else _null()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def late(watermark: datetime) -> datetime:
    """A change time just before the last watermark (a row committed late in the ERP)."""
    return watermark - timedelta(minutes=2)
