"""The Oracle connector against the sandbox over real HTTPS (faults injected by the server)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from plantsync.connectors.base import Connector, PushRecord
from plantsync.connectors.http import TLSConfig
from plantsync.connectors.oracle.auth import OracleAuthConfig
from plantsync.connectors.oracle.connector import OracleConnector
from plantsync.entities import EntityType
from tests.integration.connectors.conftest import RECORDS, SandboxHandle, sandbox_config

ConnectorFor = Callable[..., Connector]


def total_results(sandbox: SandboxHandle, resource: str) -> int:
    info = sandbox.info["oracle"]
    response = httpx.get(
        f"{info['base_url']}/fscmRestApi/resources/11.13.18.05/{resource}",
        params={"limit": "1", "totalResults": "true", "onlyData": "true"},
        auth=(info["auth_config"]["username"], info["auth_config"]["password"]),
        verify=ssl.create_default_context(cadata=sandbox.ca_pem),
    )
    return int(response.json()["totalResults"])


def wo(i: int, tag: str) -> PushRecord:
    fields = {"WorkOrderDescription": f"Repair {i}", "OrganizationCode": "M1"}
    return PushRecord(local_id=f"{tag}-{i}", fields=fields, reference=f"{tag}-{i}")


def count_ref(sandbox: SandboxHandle, ref: str) -> int:
    return [r["WorkOrderNumber"] for r in sandbox.dump("oracle", "work_order")].count(ref)


def test_complete_pull_matches_total_results(
    sandbox: SandboxHandle, connector_for: ConnectorFor
) -> None:
    connector = connector_for("oracle", page_size=500)
    keys = [r.key for page in connector.pull(EntityType.machine) for r in page.records]
    assert len(keys) == len(set(keys)) == total_results(sandbox, "installedBaseAssets") == RECORDS


def test_pull_survives_dropped_connections_and_5xx(
    sandbox: SandboxHandle, connector_for: ConnectorFor
) -> None:
    sandbox.set_faults(drop_rate=0.3, error_rate=0.2, providers=["oracle"], seed=4)
    connector = connector_for("oracle", page_size=200)
    keys = [r.key for page in connector.pull(EntityType.work_order) for r in page.records]
    assert len(keys) == len(set(keys)) == RECORDS
    assert sandbox.requests("oracle")["faults"]


def test_throttling_is_honoured(sandbox: SandboxHandle, connector_for: ConnectorFor) -> None:
    sandbox.set_faults(throttle={"burst": 2, "every": 0, "retry_after": 0.2}, providers=["oracle"])
    connector = connector_for("oracle", page_size=500)
    assert sum(len(p.records) for p in connector.pull(EntityType.machine)) == RECORDS
    stats = sandbox.requests("oracle")
    assert stats["statuses"].get("429") == 2


def test_bulk_push_with_one_failing_record(
    sandbox: SandboxHandle, connector_for: ConnectorFor
) -> None:
    connector = connector_for("oracle")
    batch = [wo(i, "bulk") for i in range(6)]
    batch[3] = replace(batch[3], fields={**batch[3].fields, "Bogus": 1})
    results = connector.push(EntityType.work_order, batch)
    assert [r.ok for r in results] == [True, True, True, False, True, True]
    assert all(count_ref(sandbox, f"bulk-{i}") == (0 if i == 3 else 1) for i in range(6))


def test_lost_answer_is_not_duplicated(sandbox: SandboxHandle, connector_for: ConnectorFor) -> None:
    connector = connector_for("oracle")
    sandbox.set_faults(
        error_rate=1.0, after_commit=True, methods=["POST"], providers=["oracle"], limit=1
    )
    results = connector.push(EntityType.work_order, [wo(i, "lost") for i in range(4)])
    assert all(r.ok and r.erp_key for r in results)
    assert all(count_ref(sandbox, f"lost-{i}") == 1 for i in range(4))
    # and a later re-push flagged maybe_sent finds them instead of creating again
    again = connector.push(EntityType.work_order, [replace(wo(0, "lost"), maybe_sent=True)])
    assert again[0].erp_key == results[0].erp_key and count_ref(sandbox, "lost-0") == 1


def test_oauth_connection(sandbox: SandboxHandle, connector_for: ConnectorFor) -> None:
    info: dict[str, Any] = sandbox.info["oracle"]
    auth = OracleAuthConfig.model_validate(info["oauth_auth_config"])
    config = replace(sandbox_config(sandbox, "oracle"), auth=auth, page_size=500)
    with OracleConnector(config) as oauth_connector:
        result = oauth_connector.test()
        assert result.success, result.message
        assert sum(len(p.records) for p in oauth_connector.pull(EntityType.machine)) == RECORDS


def test_diagnostics_over_https(sandbox: SandboxHandle, connector_for: ConnectorFor) -> None:
    ok = connector_for("oracle").test()
    assert ok.success and ok.message.startswith("Successfully connected to Oracle (")
    wrong = connector_for("oracle", auth={"password": "nope"}).test()
    assert not wrong.success and "401" in wrong.message
    no_ca = connector_for("oracle", tls=TLSConfig()).test()
    assert not no_ca.success and "CA" in no_ca.message
    moved = connector_for("oracle", base_url=sandbox.info["oracle"]["base_url"] + "/wrong").test()
    assert not moved.success and "/wrong/fscmRestApi/resources/11.13.18.05/" in moved.message
    refused = connector_for("oracle", base_url="https://127.0.0.1:9").test()
    assert not refused.success and "refused" in refused.message and refused.latency_ms >= 0
