"""The Dataverse sandbox's tables as a Dataverse environment defines them: columns with their
types, lookups and option sets (``Table``, ``Column``), errors as Dataverse words them
(``DataverseFault``), and timestamps in its ISO form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from plantsync.sandbox.table import Rows

OPTION_LABELS = {
    690970000: "Unscheduled",
    690970001: "Scheduled",
    690970002: "In Progress",
    690970003: "Completed",
    690970004: "Posted",
    690970005: "Canceled",
}
SYSTEM_COLUMNS = ("createdon", "modifiedon", "versionnumber", "statecode")
BASE_TIME = datetime(2024, 1, 1, 6, 0, tzinfo=UTC)


class DataverseFault(Exception):
    """An error answer: HTTP status, Dataverse error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Column:
    kind: str  # string | int | decimal | bool | datetime | option | lookup
    max_length: int = 0
    target: str = ""  # lookup: the target entity set
    required: bool = False
    options: tuple[int, ...] = ()


@dataclass
class Table:
    entity: str  # machine | work_order | downtime | production_data
    logical: str
    key: str
    name_column: str
    columns: dict[str, Column]
    change_tracking: bool = True
    rows: Rows[str] = field(default_factory=Rows)

    def has(self, column: str) -> bool:
        return column in self.columns or column == self.key or column in SYSTEM_COLUMNS


def build_schema() -> dict[str, Table]:
    s, lk = Column, Column
    return {
        "msdyn_customerassets": Table(
            "machine",
            "msdyn_customerasset",
            "msdyn_customerassetid",
            "msdyn_name",
            {
                "msdyn_name": s("string", 100, required=True),
                "msdyn_assettag": s("string", 100),
                "msdyn_customerassetcategory": lk("lookup", target="msdyn_customerassetcategories"),
            },
        ),
        "msdyn_workorders": Table(
            "work_order",
            "msdyn_workorder",
            "msdyn_workorderid",
            "msdyn_name",
            {
                "msdyn_name": s("string", 100),
                "msdyn_customerasset": lk("lookup", target="msdyn_customerassets"),
                "msdyn_workordersummary": s("string", 2000),
                "msdyn_systemstatus": Column("option", options=tuple(OPTION_LABELS)),
                "msdyn_timefrompromised": s("datetime"),
                "msdyn_timetopromised": s("datetime"),
                "msdyn_firstarrivedon": s("datetime"),
                "msdyn_completedon": s("datetime"),
            },
        ),
        "plnt_downtimeevents": Table(
            "downtime",
            "plnt_downtimeevent",
            "plnt_downtimeeventid",
            "plnt_name",
            {
                "plnt_name": s("string", 200),
                "plnt_machine": lk("lookup", target="msdyn_customerassets"),
                "plnt_workorder": lk("lookup", target="msdyn_workorders"),
                "plnt_startedon": s("datetime", required=True),
                "plnt_endedon": s("datetime"),
                "plnt_durationminutes": s("decimal"),
                "plnt_reasoncode": s("string", 100),
                "plnt_planned": s("bool"),
                "plnt_failuremode": s("string", 100),
                "plnt_rootcause": s("string", 100),
                "plnt_source": s("string", 100),
            },
        ),
        "plnt_productionrecords": Table(
            "production_data",
            "plnt_productionrecord",
            "plnt_productionrecordid",
            "plnt_operation",
            {
                "plnt_machine": lk("lookup", target="msdyn_customerassets"),
                "plnt_workorder": lk("lookup", target="msdyn_workorders"),
                "plnt_operation": s("string", 100),
                "plnt_startedon": s("datetime", required=True),
                "plnt_stoppedon": s("datetime"),
                "plnt_goodcount": s("decimal"),
                "plnt_scrapcount": s("decimal"),
                "plnt_runtimeminutes": s("decimal"),
                "plnt_downtimeminutes": s("decimal"),
                "plnt_final": s("bool"),
            },
        ),
    }


def iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if utc.year >= 1000:  # isoformat is the same text, much faster than strftime
        return utc.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
