"""The Dataverse sandbox's tables: generated rows, writes and change tracking (the schema is ``schema.py``).

Rows are kept as Dataverse serialises them (timestamps as ISO strings with ``Z``, lookups as
``_<column>_value`` GUIDs). Every write bumps a global row version, as Dataverse's change
tracking does; deletions leave a tombstone so delta queries can report ``$deletedEntity``.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from plantsync.sandbox.dynamics.schema import (
    BASE_TIME,
    OPTION_LABELS,
    Column,
    DataverseFault,
    Table,
    build_schema,
    iso,
    parse_iso,
)
from plantsync.sandbox.table import Row, generating

CATEGORIES = {
    "CNC Machining": uuid.UUID("0b6a1e43-1c5f-4d0e-9a41-6f2d1c9e8a01"),
    "Stamping Press": uuid.UUID("0b6a1e43-1c5f-4d0e-9a41-6f2d1c9e8a02"),
    "Injection Molding": uuid.UUID("0b6a1e43-1c5f-4d0e-9a41-6f2d1c9e8a03"),
    "Assembly Cell": uuid.UUID("0b6a1e43-1c5f-4d0e-9a41-6f2d1c9e8a04"),
}


def _guid4(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, without making the UUID object."""
    bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Store:
    """All tables with their rows, versions and tombstones.

    ``journal`` (a list while a changeset runs, else None) records what each write changed,
    so ``rollback`` can take a failed changeset back.
    """

    def __init__(self, *, records: int, seed: int = 0) -> None:
        self.tables = build_schema()
        self.version = 0
        self.min_delta_version = 0
        self.tombstones: dict[str, dict[str, int]] = {name: {} for name in self.tables}
        self.journal: list[tuple[str, str, dict[str, Any] | None, int | None]] | None = None
        self._last_write = BASE_TIME
        self._generate(records, seed)

    # -- generation ---------------------------------------------------------------------

    @generating()
    def _generate(self, records: int, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - deterministic test data

        def guid() -> str:
            return _guid4(rng.getrandbits(128))

        # Text shared by many rows is made once (the same values, a fraction of the memory).
        stamps = [iso(BASE_TIME + timedelta(minutes=i)) for i in range(records)]
        categories = {name: str(category_id) for name, category_id in CATEGORIES.items()}
        category_names, statuses = list(CATEGORIES), list(OPTION_LABELS)
        summaries = ["Replace spindle bearing", "Hydraulic leak", "Quarterly PM", "Die change"]
        made: dict[str, list[tuple[str, Row]]] = {name: [] for name in self.tables}

        def insert(table: str, key: str, i: int, values: dict[str, Any]) -> None:
            self.version += 1
            when, key_column = stamps[i], self.tables[table].key
            made[table].append(
                (key, Row({key_column: key, **values, "createdon": when, "modifiedon": when,
                           "statecode": 0, "versionnumber": self.version}))
            )  # fmt: skip

        assets = []
        for i in range(records):
            category = rng.choice(category_names)
            key = guid()
            assets.append(key)
            insert(
                "msdyn_customerassets",
                key,
                i,
                {
                    "msdyn_name": f"{category} {i + 1:04d}",
                    "msdyn_assettag": f"MC-{i + 1:05d}",
                    "_msdyn_customerassetcategory_value": categories[category],
                },
            )
        orders = []
        for i in range(records):
            start = BASE_TIME + timedelta(hours=8 * i)
            key = guid()
            orders.append(key)
            insert(
                "msdyn_workorders",
                key,
                i,
                {
                    "msdyn_name": f"WO-{i + 1:06d}",
                    "_msdyn_customerasset_value": rng.choice(assets) if assets else None,
                    "msdyn_workordersummary": rng.choice(summaries),
                    "msdyn_systemstatus": rng.choice(statuses),
                    "msdyn_timefrompromised": iso(start),
                    "msdyn_timetopromised": iso(start + timedelta(hours=4)),
                    "msdyn_firstarrivedon": None,
                    "msdyn_completedon": None,
                },
            )
        for i in range(records):
            start = BASE_TIME + timedelta(hours=3 * i)
            started = iso(start)
            insert(
                "plnt_downtimeevents",
                guid(),
                i,
                {
                    "plnt_name": f"Stop {i + 1}",
                    "_plnt_machine_value": rng.choice(assets),
                    "_plnt_workorder_value": None,
                    "plnt_startedon": started,
                    "plnt_endedon": iso(start + timedelta(minutes=25)),
                    "plnt_durationminutes": 25,
                    "plnt_reasoncode": rng.choice(["JAM", "TOOL", "MAT"]),
                    "plnt_planned": False,
                    "plnt_failuremode": None,
                    "plnt_rootcause": None,
                    "plnt_source": "plc",
                },
            )
            insert(
                "plnt_productionrecords",
                guid(),
                i,
                {
                    "_plnt_machine_value": rng.choice(assets),
                    "_plnt_workorder_value": rng.choice(orders),
                    "plnt_operation": "0010",
                    "plnt_startedon": started,
                    "plnt_stoppedon": iso(start + timedelta(hours=2)),
                    "plnt_goodcount": 480,
                    "plnt_scrapcount": 3,
                    "plnt_runtimeminutes": 110,
                    "plnt_downtimeminutes": 10,
                    "plnt_final": False,
                },
            )
        for name, items in made.items():
            self.tables[name].rows.load(items)
            items.clear()

    # -- reads --------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raise DataverseFault(404, "0x8006088a", f"Resource not found for the segment '{name}'.")
        return self.tables[name]

    # -- writes -------------------------------------------------------------------------

    def now(self) -> str:
        moment = max(datetime.now(UTC), self._last_write + timedelta(seconds=1))
        self._last_write = moment
        return iso(moment)

    def upsert(
        self, name: str, key: str, body: dict[str, Any], *, must_exist: bool, must_not_exist: bool
    ) -> tuple[dict[str, Any], bool]:
        """Create or update a row; returns it and whether it was created."""
        t = self.table(name)
        row = t.rows.get(key)
        if row is None and must_exist:
            raise DataverseFault(404, "0x80040217", f"{t.logical} With Id = {key} Does Not Exist")
        if row is not None and must_not_exist:
            raise DataverseFault(
                412, "0x80060882", "A record with matching key values already exists."
            )
        values = self.validate(t, body, creating=row is None)
        self._remember(name, key)
        self.version += 1
        now = self.now()
        if row is None:
            fresh = {t.key: key, "createdon": now, "statecode": 0}
            for column, spec in t.columns.items():
                fresh[f"_{column}_value" if spec.kind == "lookup" else column] = None
            row = t.rows.put(key, fresh)
            self.tombstones[name].pop(key, None)
            created = True
        else:
            created = False
        row.update(values)
        row["modifiedon"] = now
        row["versionnumber"] = self.version
        return row, created

    def delete(self, name: str, key: str) -> None:
        t = self.table(name)
        if key not in t.rows:
            raise DataverseFault(404, "0x80040217", f"{t.logical} With Id = {key} Does Not Exist")
        self._remember(name, key)
        t.rows.pop(key)
        self.version += 1
        self.tombstones[name][key] = self.version

    def _remember(self, name: str, key: str) -> None:
        if self.journal is not None:
            row = self.tables[name].rows.get(key)
            tombstone = self.tombstones[name].get(key)
            self.journal.append((name, key, dict(row) if row is not None else None, tombstone))

    def begin(self) -> int:
        """Start journalling writes (a changeset); returns the version to roll back to."""
        self.journal = []
        return self.version

    def end(self) -> None:
        """Stop journalling (the changeset is kept or was rolled back)."""
        self.journal = None

    def rollback(self, version: int) -> None:
        """Take back every write journalled since ``begin`` (returned ``version``)."""
        for name, key, row, tombstone in reversed(self.journal or []):
            rows = self.tables[name].rows
            if row is None:
                rows.pop(key, None)
            elif key in rows:
                rows[key].clear()
                rows[key].update(row)
            else:
                rows[key] = row
            if tombstone is None:
                self.tombstones[name].pop(key, None)
            else:
                self.tombstones[name][key] = tombstone
        self.journal = []
        self.version = version

    def validate(self, t: Table, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """The body's values as stored, or a ``DataverseFault`` like Dataverse's."""
        out: dict[str, Any] = {}
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                column = name[: -len("@odata.bind")]
                out[f"_{column}_value"] = self._bind(t, column, value)
                continue
            spec = t.columns.get(name)
            if spec is None or spec.kind == "lookup":
                if t.has(name):
                    raise DataverseFault(400, "0x80048d19", f"The property '{name}' cannot be set.")
                raise DataverseFault(
                    400,
                    "0x80060888",
                    f"The property '{name}' does not exist on type "
                    f"'Microsoft.Dynamics.CRM.{t.logical}'. Make sure to only use property "
                    "names that are defined by the type.",
                )
            out[name] = self._value(t, name, spec, value)
        if creating:
            for name, spec in t.columns.items():
                if spec.required and out.get(name) is None:
                    raise DataverseFault(
                        400, "0x80040200", f"Required field '{name}' of '{t.logical}' is missing."
                    )
        return out

    def _bind(self, t: Table, column: str, value: Any) -> str | None:
        spec = t.columns.get(column)
        if spec is None or spec.kind != "lookup":
            raise DataverseFault(
                400,
                "0x80060888",
                f"An undeclared property '{column}' which only has property annotations in the "
                "payload but no property value was found in the payload.",
            )
        if value is None:
            return None
        match = re.fullmatch(r"/?([a-z_]+)\(([0-9a-fA-F-]{36})\)", str(value))
        if not match or match.group(1) != spec.target:
            raise DataverseFault(
                400, "0x80060888", f"{column}@odata.bind must reference /{spec.target}(<guid>)."
            )
        target = self.tables.get(spec.target)
        key = match.group(2).lower()
        if target is not None and key not in target.rows:
            raise DataverseFault(
                404, "0x80040217", f"{target.logical} With Id = {key} Does Not Exist"
            )
        return key

    def _value(self, t: Table, name: str, spec: Column, value: Any) -> Any:
        if value is None:
            return None
        bad = DataverseFault(
            400,
            "0x80048d19",
            f"Error identified in Payload provided by the user for Entity :'{t.logical}': "
            f"Cannot convert the literal '{value}' to the expected type of '{name}' ({spec.kind}).",
        )
        if spec.kind == "string":
            if not isinstance(value, str):
                raise bad
            if spec.max_length and len(value) > spec.max_length:
                raise DataverseFault(
                    400,
                    "0x80044331",
                    f"A validation error occurred. The length of the '{name}' attribute of the "
                    f"'{t.logical}' entity exceeded the maximum allowed length of "
                    f"'{spec.max_length}'.",
                )
            return value
        if spec.kind in ("int", "option"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            if spec.options and value not in spec.options:
                raise DataverseFault(400, "0x8004431a", f"{value} is not a valid value for {name}.")
            return value
        if spec.kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return value
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if spec.kind == "datetime":
            try:
                return iso(parse_iso(str(value)))
            except ValueError:
                raise bad from None
        raise bad
