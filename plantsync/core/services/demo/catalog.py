"""The demo plant's fixed data: sites' machines, products, failure modes and root causes, stop
texts, cost centres, spare parts and crews, and the rows being built (``PlantRows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from plantsync.core.services.changes import ChangeOrigin

ORIGIN = ChangeOrigin.system("demo-data")
PERIOD = timedelta(minutes=30)
WEEKDAYS = "12345"

# code, name, type, manufacturer, model, ideal cycle time (s), product
BERLIN = [
    ("PRESS-0{}", "Stamping press {}", "press", "Schuler", "MSP 400", 12.0, "BRK-4471"),
    ("CNC-0{}", "CNC machining center {}", "cnc", "DMG Mori", "DMU 65", 95.0, "HSG-2210"),
    ("WELD-0{}", "Welding cell {}", "welding", "KUKA", "KR 16", 40.0, "FRM-1180"),
    ("PACK-0{}", "Packing line {}", "packaging", "Bosch", "Pack 301", 3.0, "BOX-0090"),
]
CHICAGO = [
    ("MOLD-0{}", "Injection molder {}", "molding", "Engel", "victory 200", 28.0, "CAP-7713"),
    (
        "ASSY-0{}",
        "Assembly station {}",
        "assembly",
        "Bosch Rexroth",
        "ActiveAssist",
        45.0,
        "KIT-3302",
    ),
    ("LASER-0{}", "Laser cutter {}", "laser", "Trumpf", "TruLaser 3030", 70.0, "PLT-5560"),
]
PRODUCTS = {code.split("-")[0]: product for code, *_, product in (*BERLIN, *CHICAGO)}
COUNTS = {"PRESS": 4, "CNC": 3, "WELD": 3, "PACK": 2, "MOLD": 4, "ASSY": 2, "LASER": 1}
FAILURES = [
    ("BEARING", "Bearing failure"), ("HYD-LEAK", "Hydraulic leak"), ("SENSOR", "Sensor fault"),
    ("JAM", "Material jam"), ("TOOL-WEAR", "Tool wear"), ("ELECTRICAL", "Electrical fault"),
]  # fmt: skip
CAUSES = [
    ("LUBRICATION", "Insufficient lubrication"), ("WEAR", "Normal wear"),
    ("OPERATOR", "Operator error"), ("MATERIAL", "Material out of spec"),
    ("CALIBRATION", "Calibration drift"), ("POWER", "Power quality"),
]  # fmt: skip
UNPLANNED = ["BREAKDOWN", "JAM", "MATERIAL-SHORTAGE", "QUALITY-CHECK", "TOOL-CHANGE"]
# Short texts of the stops (ERPs want one: SAP's notification text is mandatory, 40 chars).
STOP_TEXTS = {
    "BREAK": "Scheduled break", "BREAKDOWN": "Machine breakdown", "JAM": "Material jam",
    "MATERIAL-SHORTAGE": "Waiting for material", "QUALITY-CHECK": "Quality check",
    "TOOL-CHANGE": "Unplanned tool change",
}  # fmt: skip
# Cost centres as an ERP controlling area numbers them (SAP KOSTL: at most 10 characters):
# one per site (4xxx Berlin, 5xxx Chicago) and machine type.
COST_CENTERS = {
    "press": "4110", "cnc": "4120", "welding": "4130", "packaging": "4140",
    "molding": "5110", "assembly": "5120", "laser": "5130", "oven": "5140",
}  # fmt: skip
PARTS = [
    ("BRG-6205", "Deep groove ball bearing 6205", 40, 1850), ("SEAL-HY-32", "Hydraulic seal 32 mm", 25, 940),
    ("SNS-PROX-M12", "Proximity sensor M12", 12, 6400), ("FUSE-10A", "Fuse 10 A", 100, 120),
    ("NOZ-MOLD-4", "Molding nozzle 4 mm", 6, 21500), ("LNS-LASER-5", "Laser focus lens 5 in", 4, 38900),
    ("BELT-HTD-8M", "Timing belt HTD 8M", 10, 7300), ("OIL-ISO68", "Hydraulic oil ISO 68 (20 l)", 15, 8900),
]  # fmt: skip
WORKERS = {
    "BER": ["Anna Schmidt", "Jonas Weber", "Lena Fischer", "Mehmet Yilmaz", "Sofia Wagner",
            "Paul Becker", "Marie Hoffmann", "Lukas Schulz", "Emma Koch", "Felix Richter",
            "Hannah Braun", "Tim Zimmermann"],
    "CHI": ["Maria Garcia", "James Johnson", "Aisha Williams", "Carlos Rodriguez",
            "Emily Brown", "Michael Davis", "Olivia Miller", "David Wilson"],
}  # fmt: skip


@dataclass
class PlantRows:
    """The rows being built, in insertion order by table."""

    rows: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, table: str, row: Any) -> Any:
        self.rows.setdefault(table, []).append(row)
        return row
