"""``OracleConnector``: Oracle Fusion Cloud REST as a PlantSync connector.

Entities (defaults in ``mappings/oracle.yaml``): machines from ``installedBaseAssets``,
production work orders from manufacturing ``workOrders``, maintenance work orders to
``maintenanceWorkOrders``, downtime and production data to the resources the mapping names.

- Pulls follow ``hasMore``/``offset`` to the end with ``limit`` always set, ordered by the
  change date and the key so pages neither skip nor repeat rows, and check the row count
  against ``totalResults``. Incremental pulls filter ``changed_field >= watermark`` with ``q``.
- Pushes go as batches (all-or-none on the server; see ``oracle.writes``): a refused batch
  is split in halves and sent again until the bad record stands alone.
- Reconciliation: ``reference`` resources keep our reference in a field (``find`` queries it
  before a create is repeated); ``our_key`` resources are written with ``Upsert-Mode``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import httpx
from typing_extensions import override

from plantsync.connectors.base import (
    ConnectionTestResult,
    Connector,
    ConnectorConfig,
    Cursor,
    ERPRecord,
    Page,
    PushRecord,
    PushResult,
    Reconcile,
    Resource,
    key_string,
)
from plantsync.connectors.http import RetryPolicy
from plantsync.connectors.oracle.auth import OracleAuthConfig
from plantsync.connectors.oracle.client import MAX_LIMIT, OracleClient
from plantsync.connectors.oracle.codec import PROVIDER, Condition, parse_timestamp
from plantsync.connectors.oracle.writer import OracleWriter
from plantsync.connectors.pagination import OffsetHasMorePaginator
from plantsync.connectors.translate import translate_transport_error
from plantsync.entities import ENTITY_MATRIX, Direction, EntityType
from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    UnavailableError,
)

__all__ = ["OracleAuthConfig", "OracleConnector"]

log = logging.getLogger(__name__)


class OracleConnector(Connector):
    """Oracle Fusion Cloud REST (see the module docstring)."""

    provider = "oracle"
    display_name = "Oracle"
    auth_model = OracleAuthConfig
    supports = ENTITY_MATRIX
    default_batch_size: ClassVar[int] = 100

    def __init__(self, config: ConnectorConfig, *, client: httpx.Client | None = None) -> None:
        if not isinstance(config.auth, OracleAuthConfig):
            raise ERPConfigurationError(
                "the connection's auth is not an Oracle auth config", provider=PROVIDER
            )
        self.auth: OracleAuthConfig = config.auth
        self._http_auth = self.auth.http_auth()
        super().__init__(config, client=client)
        if client is not None and client.auth is None:
            # A client handed in (tests, a shared pool) still authenticates as the connection.
            client.auth = self._http_auth
        self.oracle = OracleClient(
            self.client,
            base_url=config.base_url,
            api_version=self.auth.api_version,
            framework_version=self.auth.rest_framework_version,
            policy=config.retry,
        )
        self._writer = OracleWriter(
            self.oracle, find=self.find, default_batch_size=self.default_batch_size
        )

    @override
    def _make_client(self) -> httpx.Client:
        return self._build_client(auth=self._http_auth)

    # -- test ----------------------------------------------------------------------------

    @override
    def test(self) -> ConnectionTestResult:
        started = time.monotonic()
        paths = sorted(
            {r.path for by_dir in self.config.resources.values() for r in by_dir.values()}
        )
        success, message = self._diagnose(paths)
        return ConnectionTestResult(success, int((time.monotonic() - started) * 1000), message)

    def _diagnose(self, paths: Sequence[str]) -> tuple[bool, str]:
        if not paths:
            return False, "the mapping names no Oracle resource to check"
        missing: list[str] = []
        try:
            for path in paths:
                try:
                    self._probe(path)
                except ERPNotFoundError:
                    missing.append(path)
        except ERPAuthenticationError as err:
            return False, self._auth_message(err)
        except ERPPermissionError as err:
            return False, (
                f"Oracle accepted the credentials but denied access (403) to {err.detail}; "
                "give the user a role with the privilege to read and write these resources"
            )
        except ConnectorError as err:
            return False, err.detail
        except httpx.TransportError as exc:  # e.g. from the token endpoint request
            return False, translate_transport_error(
                exc, provider=PROVIDER, url=self.config.base_url
            ).detail
        if missing and len(missing) == len(paths):
            return False, (
                f"Oracle answered 404 for {self.oracle.resource_url(missing[0])}: no Fusion REST "
                f"service at this path; check base_url (the pod's URL, without /fscmRestApi)"
            )
        if missing:
            tried = ", ".join(f"{p} ({self.oracle.resource_url(p)})" for p in missing)
            return (
                False,
                f"Connected to Oracle, but resources the mapping needs are missing (404): {tried}",
            )
        return True, f"Successfully connected to Oracle ({', '.join(paths)})"

    def _probe(self, path: str) -> None:
        try:
            self.oracle.get_collection(
                path, {"limit": "1", "onlyData": "true"}, policy=RetryPolicy(max_attempts=1)
            )
        except ERPPermissionError as err:
            raise ERPPermissionError(self.oracle.resource_url(path), provider=PROVIDER) from err

    def _auth_message(self, err: ERPAuthenticationError) -> str:
        if "token endpoint" in err.detail:
            return err.detail
        if self.auth.uses_oauth:
            return (
                "Oracle refused the bearer token (401): check that the OAuth client's scope "
                "grants access to this Fusion pod and that the client maps to a Fusion user"
            )
        return f"Oracle refused the credentials of user {self.auth.username!r} (401): check username and password"

    # -- pull ----------------------------------------------------------------------------

    @override
    def pull(self, entity: EntityType, *, since: Cursor | None = None) -> Iterator[Page]:
        res = self.config.resource(entity, Direction.inbound)
        limit = max(1, min(self.config.page_size, int(res.options.get("max_limit", MAX_LIMIT))))
        params = self._pull_params(res, since, limit)
        paginator = OffsetHasMorePaginator(limit)
        watermark = since.watermark if since else None
        seen = 0
        total: int | None = None
        while True:
            body = self.oracle.get_collection(res.path, params, entity=entity.value)
            if total is None and isinstance(body.get("totalResults"), int | str):
                total = int(body["totalResults"])
            records = [self._record(res, item) for item in body["items"]]
            seen += len(records)
            for r in records:
                if r.changed_at and (watermark is None or r.changed_at > watermark):
                    watermark = r.changed_at
            nxt = paginator.next_page(body, page_len=len(records))
            if nxt is None:
                self._check_complete(res, seen, total, entity)
                yield Page(records, cursor=Cursor(watermark=watermark))
                return
            yield Page(records)
            params = {k: v for k, v in params.items() if k != "totalResults"}
            params.update(nxt.params or {})

    def _pull_params(self, res: Resource, since: Cursor | None, limit: int) -> dict[str, str]:
        order = [f"{res.changed_field}:asc"] if res.changed_field else []
        order += [f"{k}:asc" for k in res.key]
        params = {
            "onlyData": "true",
            "limit": str(limit),
            "offset": "0",
            "totalResults": "true",
            "orderBy": ",".join(order),
        }
        if since and since.watermark and res.changed_field:
            # >= rather than >: rows changed in the same instant as the watermark are not lost.
            params["q"] = self.oracle.q([Condition(res.changed_field, ">=", since.watermark)])
        if res.options.get("fields"):
            params["fields"] = ",".join(res.options["fields"])
        return params

    def _check_complete(
        self, res: Resource, seen: int, total: int | None, entity: EntityType
    ) -> None:
        if total is not None and seen < total:
            raise UnavailableError(
                f"the pull of {res.path} ended after {seen} of {total} rows (totalResults): "
                "rows were deleted during the pull or the server truncated it; pull again",
                provider=PROVIDER,
                entity=entity.value,
            )

    def _record(self, res: Resource, item: Mapping[str, Any]) -> ERPRecord:
        fields = {k: v for k, v in item.items() if k != "links"}
        try:
            key = key_string([fields[k] for k in res.key])
        except KeyError as exc:
            raise ERPConfigurationError(
                f"{res.path} rows have no key field {exc.args[0]!r}: fix key in the mapping",
                provider=PROVIDER,
            ) from None
        changed = parse_timestamp(fields.get(res.changed_field)) if res.changed_field else None
        return ERPRecord(key=key, fields=fields, changed_at=changed)

    # -- find ----------------------------------------------------------------------------

    @override
    def find(self, entity: EntityType, reference: str) -> ERPRecord | None:
        res = self._reconcile_resource(entity)
        field = res.reference_field or (res.key[0] if res.reconcile is Reconcile.our_key else None)
        if field is None:
            raise ERPConfigurationError(
                f"{res.path} cannot be reconciled: the mapping names no reference_field",
                provider=PROVIDER,
                entity=entity.value,
            )
        params = {
            "onlyData": "true",
            "limit": "2",
            "q": self.oracle.q([Condition(field, "=", reference)]),
            "orderBy": ",".join(f"{k}:asc" for k in res.key),
        }
        items = self.oracle.get_collection(res.path, params, entity=entity.value)["items"]
        if len(items) > 1:
            log.warning(
                "%s has several rows with %s=%s; using the first", res.path, field, reference
            )
        return self._record(res, items[0]) if items else None

    def _reconcile_resource(self, entity: EntityType) -> Resource:
        by_dir = self.config.resources.get(entity, {})
        res = by_dir.get(Direction.outbound) or by_dir.get(Direction.inbound)
        return res or self.config.resource(entity, Direction.outbound)

    # -- push ----------------------------------------------------------------------------

    @override
    def push(self, entity: EntityType, records: Sequence[PushRecord]) -> list[PushResult]:
        res = self.config.resource(entity, Direction.outbound)
        return self._writer.push(entity, res, records)
