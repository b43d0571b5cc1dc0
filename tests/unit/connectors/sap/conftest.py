"""Helpers for respx tests of the SAP wire protocol."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from plantsync.connectors.base import ConnectorConfig
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.sap.auth import SapAuthConfig
from plantsync.connectors.sap.connector import SapConnector
from plantsync.mappings.schema import load_default_mapping

BASE = "https://erp.example.com"
ROOT = f"{BASE}/sap/opu/odata/sap"
METADATA_DIR = Path(__file__).resolve().parents[4] / "plantsync/sandbox/sap/metadata"


def metadata(service: str) -> bytes:
    return (METADATA_DIR / f"{service}.edmx").read_bytes()


def make_connector(sleeps: list[float] | None = None, **overrides: Any) -> SapConnector:
    fields: dict[str, Any] = {
        "provider": "sap",
        "base_url": BASE,
        "auth": SapAuthConfig(username="U1", password="pw-secret", sap_client="100"),
        "resources": load_default_mapping("sap").resources(),
        "tenant_id": uuid.UUID(int=1),
        "connection_id": uuid.UUID(int=2),
        "retry": RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.01),
    }
    fields.update(overrides)
    record = sleeps if sleeps is not None else []
    return SapConnector(ConnectorConfig(**fields), sleep=record.append)
