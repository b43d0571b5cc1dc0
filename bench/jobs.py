"""Measured jobs, each run in its own child process by the harness (``python -m bench.jobs``).

Each prints one JSON line with ``seconds`` (the measured part only) and its own figures.

- ``sync CONNECTION_ID --direction D --entity E [--per-record]``: one sync run, executed here
  the way ``plantsync sync --wait`` does it (request, claim, run). ``--per-record`` sets the
  connector's bulk size to one record per request (the "no bulk" contender).
- ``raw PROVIDER INFO_FILE``: the raw transfer of the same machine pages as a full inbound
  pull: plain httpx GETs of the same URLs, next links cut from the tail of each body, bodies
  otherwise discarded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import ssl
import time
import uuid
from typing import Any

import httpx

PAGE = 1000  # the connectors' default page size (ConnectorConfig.page_size)
ORACLE_PAGE = 500  # the Oracle sandbox's largest limit, which the connector uses


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``): per address space, so unlike ``ru_maxrss`` it does
    not count the parent's pages the child had between fork and exec."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _emit(**values: Any) -> None:
    print(json.dumps({**values, "peak_rss_mb": peak_rss_mb()}, default=str), flush=True)


# -- sync -------------------------------------------------------------------------------------


def _per_record_factory() -> Any:
    from plantsync.connectors.base import ConnectorConfig
    from plantsync.connectors.registry import build_connector

    def factory(config: ConnectorConfig) -> Any:
        resources = {
            entity: {
                direction: dataclasses.replace(res, options={**res.options, "batch_size": 1})
                for direction, res in by_direction.items()
            }
            for entity, by_direction in config.resources.items()
        }
        return build_connector(dataclasses.replace(config, resources=resources))

    return factory


def sync_job(connection_id: str, direction: str, entity: str, *, per_record: bool) -> None:
    from contextlib import ExitStack

    from sqlmodel import select

    from plantsync.core.config import get_settings
    from plantsync.core.db import get_database
    from plantsync.core.models.integration import Connection, SyncTrigger
    from plantsync.core.sync import engine, runs
    from plantsync.core.sync.executor import run_in_process
    from plantsync.entities import Direction, EntityType

    db = get_database(get_settings())
    with db.session(write=True) as session:
        conn = session.exec(
            select(Connection).where(Connection.id == uuid.UUID(connection_id))
        ).one()
        log, _ = runs.request_sync(
            session=session, tenant_id=conn.tenant_id, connection_id=conn.id,
            direction=Direction(direction), entity_type=EntityType(entity), entity_id=None,
            trigger=SyncTrigger.manual, principal=None,
        )  # fmt: skip
        session.commit()
    with ExitStack() as stack:
        if per_record:
            stack.enter_context(engine.bind_connector_factory(_per_record_factory()))
        start = time.perf_counter()
        final = run_in_process(log.id, database=db)
        seconds = time.perf_counter() - start
    assert final is not None
    errors: list[str] = []
    if final.records_failed:
        from plantsync.core.services.sync_logs import get_log_detail

        with db.read_session() as session:
            detail = get_log_detail(session=session, tenant_id=conn.tenant_id, log_id=final.id)
        errors = [e.message for e in detail.errors[:3]]
    _emit(
        errors=errors,
        seconds=seconds, status=final.status.value, read=final.records_read,
        written=final.records_written, failed=final.records_failed,
        skipped=final.records_skipped, message=final.message, log_id=str(final.id),
    )  # fmt: skip


# -- raw transfer -----------------------------------------------------------------------------

SAP_COUNT = re.compile(rb'"__count"\s*:\s*"(\d+)"')
NEXT_LINK = re.compile(rb'"@odata\.nextLink"\s*:\s*"([^"]+)"')
HAS_MORE = re.compile(rb'"hasMore"\s*:\s*(true|false)')


def _tail(body: bytes) -> bytes:
    return body[-4096:]


def _raw_sap(client: httpx.Client, info: dict[str, Any]) -> tuple[int, int]:
    from plantsync.entities import Direction, EntityType
    from plantsync.mappings.schema import load_default_mapping

    res = load_default_mapping("sap").resources()[EntityType.machine][Direction.inbound]
    auth = info["auth_config"]
    url = f"{info['base_url']}/sap/opu/odata/sap/{res.path}"
    today = time.strftime("%Y-%m-%dT00:00:00")
    params = {
        "$format": "json", "$top": str(PAGE), "$orderby": "Equipment,ValidityEndDate",
        "$filter": f"ValidityStartDate le datetime'{today}' and ValidityEndDate ge datetime'{today}'",
        "sap-client": auth.get("sap_client", "100"),
    }  # fmt: skip
    creds = (auth["username"], auth["password"])
    first = client.get(url, params={**params, "$inlinecount": "allpages"}, auth=creds)
    first.raise_for_status()
    match = SAP_COUNT.search(first.content[:4096]) or SAP_COUNT.search(_tail(first.content))
    total = int(match.group(1)) if match else 0
    pages, size = 1, len(first.content)
    for skip in range(PAGE, total, PAGE):
        resp = client.get(url, params={**params, "$skip": str(skip)}, auth=creds)
        resp.raise_for_status()
        pages, size = pages + 1, size + len(resp.content)
    return pages, size


def _raw_dynamics(client: httpx.Client, info: dict[str, Any]) -> tuple[int, int]:
    from plantsync.entities import Direction, EntityType
    from plantsync.mappings.schema import load_default_mapping

    res = load_default_mapping("dynamics").resources()[EntityType.machine][Direction.inbound]
    auth = info["auth_config"]
    token = client.post(
        f"{auth['authority']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": auth["client_id"],
              "client_secret": auth["client_secret"], "scope": f"{info['base_url']}/.default"},
    )  # fmt: skip
    token.raise_for_status()
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Prefer": f"odata.maxpagesize={PAGE}",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
    }
    select = "msdyn_customerassetid,modifiedon,msdyn_name,msdyn_assettag,_msdyn_customerassetcategory_value,statecode"
    url: str | None = f"{info['base_url']}/api/data/v9.2/{res.path}?$select={select}"
    pages = size = 0
    while url:
        resp = client.get(url, headers=headers)
        resp.raise_for_status()
        pages, size = pages + 1, size + len(resp.content)
        match = NEXT_LINK.search(_tail(resp.content))
        url = match.group(1).decode().replace("\\/", "/") if match else None
    return pages, size


def _raw_oracle(client: httpx.Client, info: dict[str, Any]) -> tuple[int, int]:
    from plantsync.entities import Direction, EntityType
    from plantsync.mappings.schema import load_default_mapping

    res = load_default_mapping("oracle").resources()[EntityType.machine][Direction.inbound]
    auth = info["auth_config"]
    url = f"{info['base_url']}/fscmRestApi/resources/11.13.18.05/{res.path}"
    pages = size = offset = 0
    while True:
        params = {"onlyData": "true", "limit": str(ORACLE_PAGE), "offset": str(offset),
                  "orderBy": "LastUpdateDate:asc,AssetId:asc"}  # fmt: skip
        resp = client.get(url, params=params, auth=(auth["username"], auth["password"]))
        resp.raise_for_status()
        pages, size, offset = pages + 1, size + len(resp.content), offset + ORACLE_PAGE
        match = HAS_MORE.search(_tail(resp.content))
        if not match or match.group(1) == b"false":
            return pages, size


RAW = {"sap": _raw_sap, "dynamics": _raw_dynamics, "oracle": _raw_oracle}


def raw_job(provider: str, info_file: str) -> None:
    with open(info_file, encoding="utf-8") as fh:
        info = json.load(fh)[provider]
    ctx = ssl.create_default_context(cadata=info["tls"]["ca_bundle_pem"])
    with httpx.Client(verify=ctx, timeout=120) as client:
        start = time.perf_counter()
        pages, size = RAW[provider](client, info)
        seconds = time.perf_counter() - start
    _emit(seconds=seconds, pages=pages, bytes=size)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="job", required=True)
    p_sync = sub.add_parser("sync")
    p_sync.add_argument("connection_id")
    p_sync.add_argument("--direction", required=True)
    p_sync.add_argument("--entity", required=True)
    p_sync.add_argument("--per-record", action="store_true")
    p_raw = sub.add_parser("raw")
    p_raw.add_argument("provider")
    p_raw.add_argument("info_file")
    args = parser.parse_args()
    if args.job == "sync":
        sync_job(args.connection_id, args.direction, args.entity, per_record=args.per_record)
    else:
        raw_job(args.provider, args.info_file)


if __name__ == "__main__":
    main()
