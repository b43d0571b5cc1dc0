"""The SAP connector against the sandbox server over real HTTPS (TLS with the sandbox's CA)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from plantsync.connectors.base import Connector, PushRecord
from plantsync.entities import EntityType


def test_complete_pull_across_server_pages_and_push(
    sandbox: object, connector_for: Callable[..., Connector]
) -> None:
    connector = connector_for("sap", page_size=5000)  # the Gateway pages at 1,000 by itself
    result = connector.test()
    assert result.success, result.message
    records = [r for page in connector.pull(EntityType.machine) for r in page.records]
    dump = sandbox.dump("sap", "machine")  # type: ignore[attr-defined]
    current = {row["Equipment"] for row in dump if str(row["ValidityEndDate"]).startswith("9999")}
    assert len(current) > 1000
    assert sorted(r.key for r in records) == sorted(current)
    ref = str(uuid.uuid4())
    [pushed] = connector.push(
        EntityType.work_order, [PushRecord("w", {"MaintenanceOrderDesc": "TLS"}, reference=ref)]
    )
    assert pushed.ok
    assert connector.find(EntityType.work_order, ref).key == pushed.erp_key  # type: ignore[union-attr]
