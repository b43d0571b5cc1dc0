"""The shared connector suite: the same tests for every provider, over real HTTPS against the
sandbox ERPs (singer-sdk ``get_tap_test_class`` style: one parametrised suite, a small
profile per provider for what genuinely differs between ERPs).

Covered: complete pulls across pages (compared with the ERP's own rows), incremental pulls,
bulk pushes with one failing record, lost answers of writes without duplicates, every
``test()`` diagnosis, throttling with Retry-After honoured, random faults retried without
duplicates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from plantsync.connectors.base import Connector, Cursor, ERPRecord, PushRecord, PushResult, Resource
from plantsync.connectors.http import RetryPolicy, TLSConfig
from plantsync.entities import Direction, EntityType
from plantsync.errors import RetriableError
from plantsync.mappings.convert import Context
from plantsync.mappings.engine import from_erp, to_erp
from plantsync.mappings.schema import load_default_mapping
from tests.integration.connectors.conftest import PROVIDERS, SandboxHandle

pytestmark = pytest.mark.parametrize("provider", PROVIDERS)

MakeConnector = Callable[..., Connector]
ONE_TRY = RetryPolicy(max_attempts=1)
TODAY = dt.datetime.now(dt.UTC).date().isoformat()


# -- what differs between providers -----------------------------------------------------------


def expected_machine_keys(provider: str, rows: list[dict[str, Any]]) -> set[str]:
    """The keys a complete machine pull must return, from the ERP's own rows."""
    resource = resource_of(provider, EntityType.machine, Direction.inbound)
    if provider == "sap":  # one row per validity period: only the one valid today counts
        rows = [
            r
            for r in rows
            if str(r["ValidityEndDate"])[:10] >= TODAY >= str(r["ValidityStartDate"])[:10]
        ]
    return {"|".join(str(r[k]) for k in resource.key) for r in rows}


def unreachable(provider: str, sandbox: SandboxHandle, url: str) -> dict[str, Any]:
    """Overrides sending the connector's first request to ``url`` (Dynamics asks its token
    authority first, and the token's scope must be the real environment's)."""
    if provider == "dynamics":
        tenant = sandbox.info[provider]["auth_config"]["tenant_id"]
        return {"auth": {"authority": f"{url}/{tenant}"}, "retry": ONE_TRY}
    return {"base_url": url, "retry": ONE_TRY}


def missing_resource(provider: str) -> Resource:
    path = {"sap": "ZPLANT_NOPE_SRV/Nope", "dynamics": "plnt_nopes", "oracle": "plantNopes"}
    base = resource_of(provider, EntityType.machine, Direction.inbound)
    return dataclasses.replace(base, path=path[provider])


# -- helpers ----------------------------------------------------------------------------------


def resource_of(provider: str, entity: EntityType, direction: Direction) -> Resource:
    return load_default_mapping(provider).resources()[entity][direction]


def pull_all(connector: Connector, entity: EntityType, since: Cursor | None = None):
    pages = list(connector.pull(entity, since=since))
    records = [r for p in pages for r in p.records]
    return pages, records


def work_orders(
    provider: str, machine: ERPRecord, tag: str, n: int, **extra: Any
) -> list[PushRecord]:
    """``n`` maintenance work orders on ``machine``, mapped by the provider's default mapping."""
    mapping = load_default_mapping(provider)
    machine_fields = from_erp(
        mapping.get(EntityType.machine, Direction.inbound), machine.fields, Context()
    )
    m = mapping.get(EntityType.work_order, Direction.outbound)
    start = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        canonical = {
            "number": f"PS{tag}{i}",
            "description": f"Check spindle {tag} {i}",
            "machine_id": machine_fields.get("machine_id") or machine.key,
            "site_code": machine_fields.get("site_code"),
            "priority": "2",
            "planned_start": start,
            "planned_end": start + dt.timedelta(hours=2),
            **extra,
        }
        canonical = {k: v for k, v in canonical.items() if v is not None}
        out.append(
            PushRecord(
                local_id=f"wo-{tag}-{i}",
                fields=to_erp(m, canonical, Context()),
                reference=f"PS{tag}{i}",
            )
        )
    return out


def push_like_the_engine(
    connector: Connector, records: Sequence[PushRecord], rounds: int = 6
) -> dict[str, PushResult]:
    """Push as the sync engine does: a batch or record whose answer was lost (a retriable
    error) is pushed again, flagged ``maybe_sent`` so the connector reconciles first."""
    pending, final = list(records), {}
    for _ in range(rounds):
        try:
            results = connector.push(EntityType.work_order, pending)
        except RetriableError:
            pending = [dataclasses.replace(r, maybe_sent=True) for r in pending]
            continue
        retry = []
        for record, result in zip(pending, results, strict=True):
            if result.error is not None and isinstance(result.error, RetriableError):
                retry.append(dataclasses.replace(record, maybe_sent=True))
            else:
                final[record.local_id] = result
        pending = retry
        if not pending:
            return final
    raise AssertionError(
        f"records still pending after {rounds} rounds: {[r.local_id for r in pending]}"
    )


def new_rows(
    sandbox: SandboxHandle, provider: str, before: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    old = {repr(sorted(r.items())) for r in before}
    return [r for r in sandbox.dump(provider, "work_order") if repr(sorted(r.items())) not in old]


def rows_with(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [r for r in rows if any(isinstance(v, str) and text in v for v in r.values())]


def a_machine(connector: Connector) -> ERPRecord:
    page = next(iter(connector.pull(EntityType.machine)))
    return next(r for r in page.records if not r.deleted)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- pulls ------------------------------------------------------------------------------------


def test_complete_pull_across_pages(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider, page_size=250)
    pages, records = pull_all(connector, EntityType.machine)
    keys = [r.key for r in records]
    assert len(pages) > 1, "the pull should span several pages"
    assert not [k for k, n in Counter(keys).items() if n > 1], "duplicates at page boundaries"
    assert set(keys) == expected_machine_keys(provider, sandbox.dump(provider, "machine"))
    assert pages[-1].cursor is not None and all(p.cursor is None for p in pages[:-1])


def test_complete_pull_with_default_page_size(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    _, records = pull_all(connector_for(provider), EntityType.machine)
    expected = expected_machine_keys(provider, sandbox.dump(provider, "machine"))
    assert len(records) == len(expected) and {r.key for r in records} == expected


def test_incremental_pull(provider: str, connector_for: MakeConnector) -> None:
    connector = connector_for(provider)
    _, everything = pull_all(connector, EntityType.machine)
    stamps = sorted(r.changed_at for r in everything if r.changed_at is not None)
    assert stamps, "pulled records carry their change time"
    middle = stamps[len(stamps) // 2]
    _, changed = pull_all(connector, EntityType.machine, since=Cursor(watermark=middle))
    assert 0 < len(changed) < len(everything)
    assert all(r.changed_at is None or r.changed_at >= middle for r in changed)
    later = {r.key for r in everything if r.changed_at is not None and r.changed_at > middle}
    assert later <= {r.key for r in changed}, "records changed after the watermark are missing"


def test_pull_since_the_last_cursor_brings_no_old_rows(
    provider: str, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider)
    pages, everything = pull_all(connector, EntityType.machine)
    _, again = pull_all(connector, EntityType.machine, since=pages[-1].cursor)
    assert len(again) < len(everything) / 10


# -- pushes -----------------------------------------------------------------------------------


def test_bulk_push_with_one_failing_record(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider)
    machine = a_machine(connector)
    good = work_orders(provider, machine, "B", 3)
    bad = work_orders(provider, machine, "X", 1, description="x" * 2500)[0]
    before = sandbox.dump(provider, "work_order")
    results = connector.push(EntityType.work_order, [good[0], bad, good[1], good[2]])
    assert [r.local_id for r in results] == ["wo-B-0", "wo-X-0", "wo-B-1", "wo-B-2"]
    assert [r.ok for r in results] == [True, False, True, True], [r.error for r in results]
    assert all(r.erp_key for r in results if r.ok)
    assert "wo-X-0" in results[1].error.message or results[1].error.record_key == "wo-X-0"
    added = new_rows(sandbox, provider, before)
    assert len(added) == 3
    for record in good:
        assert len(rows_with(added, f"Check spindle B {record.local_id[-1]}")) == 1


def test_lost_answer_of_a_write_is_not_duplicated(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider)
    records = work_orders(provider, a_machine(connector), "L", 2)
    before = sandbox.dump(provider, "work_order")
    sandbox.set_faults(
        error_rate=1.0, after_commit=True, methods=["POST", "PATCH", "PUT", "MERGE"], limit=1
    )
    results = push_like_the_engine(connector, records)
    assert sandbox.requests(provider)["faults"] == {"after_commit": 1}
    assert all(r.ok for r in results.values()), results
    added = new_rows(sandbox, provider, before)
    for i in range(2):
        assert len(rows_with(added, f"Check spindle L {i}")) == 1, "the lost write was repeated"
    assert len(added) == 2


def test_faults_are_retried_without_duplicates(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider)
    machine = a_machine(connector)
    expected = expected_machine_keys(provider, sandbox.dump(provider, "machine"))
    before = sandbox.dump(provider, "work_order")
    sandbox.set_faults(error_rate=0.2, drop_rate=0.2, after_commit=True, seed=11)
    _, records = pull_all(connector_for(provider, page_size=200), EntityType.machine)
    assert sorted(r.key for r in records) == sorted(expected)
    results = push_like_the_engine(connector, work_orders(provider, machine, "F", 3))
    faults = sandbox.requests(provider)["faults"]
    sandbox.set_faults()
    assert all(r.ok for r in results.values()), results
    assert sum(faults.values()) > 0
    added = new_rows(sandbox, provider, before)
    for i in range(3):
        assert len(rows_with(added, f"Check spindle F {i}")) == 1


def test_throttling_is_honoured(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    connector = connector_for(provider)
    sandbox.set_faults(throttle={"burst": 2, "every": 0, "retry_after": 1})
    _, records = pull_all(connector, EntityType.machine)
    assert records
    log = [e for e in sandbox.requests(provider)["log"] if not e["auth"]]
    statuses = [e["status"] for e in log]
    assert statuses[:3] == [429, 429, 200], statuses
    for throttled, following in itertools.pairwise(log[:3]):
        if throttled["status"] == 429:
            assert following["t"] - throttled["t"] >= 0.95, "Retry-After was not honoured"


# -- diagnostics ------------------------------------------------------------------------------


def diagnose(connector: Connector) -> tuple[bool, str]:
    result = connector.test()
    assert result.latency_ms >= 0
    return result.success, result.message


def test_success_names_the_services(provider: str, connector_for: MakeConnector) -> None:
    ok, message = diagnose(connector_for(provider))
    assert ok, message
    assert "connected" in message.lower()
    assert (
        resource_of(provider, EntityType.machine, Direction.inbound).path.split("/")[0] in message
    )


def test_wrong_credentials(provider: str, connector_for: MakeConnector) -> None:
    secret_field = "client_secret" if provider == "dynamics" else "password"
    ok, message = diagnose(
        connector_for(provider, auth={secret_field: "not-the-secret"}, retry=ONE_TRY)
    )
    assert not ok
    assert re.search(r"credential|401|password|secret", message, re.I), message
    assert "not-the-secret" not in message


def test_forbidden(provider: str, sandbox: SandboxHandle, connector_for: MakeConnector) -> None:
    service = resource_of(provider, EntityType.machine, Direction.inbound).path.split("/")[0]
    sandbox.set_faults(forbid=re.escape(service))
    ok, message = diagnose(connector_for(provider, retry=ONE_TRY))
    assert not ok
    assert re.search(r"403|authori[sz]|permission|forbidden", message, re.I), message


def test_wrong_service_path(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    base = sandbox.info[provider]["base_url"]
    ok, message = diagnose(connector_for(provider, base_url=base + "/wrong-root", retry=ONE_TRY))
    assert not ok
    assert "wrong-root" in message, message
    # Dataverse's token service already refuses a scope that is not the environment's URL.
    assert "404" in message or (provider == "dynamics" and "base_url" in message), message


def test_missing_table_or_service(provider: str, connector_for: MakeConnector) -> None:
    resources = load_default_mapping(provider).resources()
    resources[EntityType.machine][Direction.inbound] = missing_resource(provider)
    ok, message = diagnose(connector_for(provider, resources=resources, retry=ONE_TRY))
    assert not ok
    assert missing_resource(provider).path.split("/")[0] in message, message


def test_dns_failure(provider: str, sandbox: SandboxHandle, connector_for: MakeConnector) -> None:
    overrides = unreachable(provider, sandbox, "https://nonexistent.invalid")
    ok, message = diagnose(connector_for(provider, **overrides))
    assert not ok
    assert "DNS" in message and "nonexistent.invalid" in message, message


def test_connection_refused(
    provider: str, sandbox: SandboxHandle, connector_for: MakeConnector
) -> None:
    url = f"https://127.0.0.1:{closed_port()}"
    ok, message = diagnose(connector_for(provider, **unreachable(provider, sandbox, url)))
    assert not ok
    assert "refused" in message, message


def test_tls_failure_without_the_ca_bundle(provider: str, connector_for: MakeConnector) -> None:
    ok, message = diagnose(connector_for(provider, tls=TLSConfig(), retry=ONE_TRY))
    assert not ok
    assert "TLS" in message and "CA" in message, message


def test_timeout(provider: str, sandbox: SandboxHandle, connector_for: MakeConnector) -> None:
    sandbox.set_faults(latency_ms=1500)
    ok, message = diagnose(connector_for(provider, timeout_s=0.4, retry=ONE_TRY))
    assert not ok
    assert re.search(r"in time|timed? ?out", message, re.I), message
