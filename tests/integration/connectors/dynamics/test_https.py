"""The Dynamics connector over real HTTPS against the composed sandbox (msal included)."""

from __future__ import annotations

from collections.abc import Callable

from plantsync.connectors.base import Connector, PushRecord
from plantsync.connectors.http import TLSConfig
from plantsync.entities import EntityType
from tests.integration.connectors.conftest import SandboxHandle

Make = Callable[..., Connector]


def test_connects_over_tls_with_the_ca_bundle(connector_for: Make) -> None:
    result = connector_for("dynamics").test()
    assert result.success, result.message
    assert "msdyn_customerassets, msdyn_workorders" in result.message


def test_untrusted_certificate_is_diagnosed(connector_for: Make) -> None:
    result = connector_for("dynamics", tls=TLSConfig()).test()
    assert not result.success
    assert "CA" in result.message and result.latency_ms >= 0


def test_complete_pull_under_faults(connector_for: Make, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(
        error_rate=0.2, drop_rate=0.1, providers=["dynamics"], methods=["GET"], seed=5
    )
    connector = connector_for("dynamics", page_size=100)
    pulled = [r.key for page in connector.pull(EntityType.machine) for r in page.records]
    expected = {row["msdyn_customerassetid"] for row in sandbox.dump("dynamics", "machine")}
    assert len(pulled) == len(set(pulled)) == len(expected)
    assert set(pulled) == expected
    assert sandbox.requests("dynamics")["faults"]


def test_throttling_over_http(connector_for: Make, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(throttle={"burst": 2, "retry_after": 0.05}, providers=["dynamics"])
    connector = connector_for("dynamics", page_size=5000)
    (page,) = connector.pull(EntityType.machine)
    assert len(page.records) == len(sandbox.dump("dynamics", "machine"))
    assert sandbox.requests("dynamics")["statuses"].get("429") == 2


def test_lost_answer_after_commit_is_not_duplicated(
    connector_for: Make, sandbox: SandboxHandle
) -> None:
    before = len(sandbox.dump("dynamics", "work_order"))
    sandbox.set_faults(
        error_rate=1.0, after_commit=True, providers=["dynamics"], methods=["POST"], limit=1
    )
    connector = connector_for("dynamics")
    records = [
        PushRecord(local_id=f"lost-{i}", fields={"msdyn_name": f"WO-L{i}"}) for i in range(3)
    ] + [PushRecord(local_id="lost-bad", fields={"msdyn_name": "x" * 101})]
    results = connector.push(EntityType.work_order, records)
    assert [r.ok for r in results] == [True, True, True, False]
    rows = sandbox.dump("dynamics", "work_order")
    assert len(rows) == before + 3
    assert sum(1 for r in rows if str(r["msdyn_name"]).startswith("WO-L")) == 3
    assert sandbox.requests("dynamics")["faults"]
