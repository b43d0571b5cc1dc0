"""``/api/v1/erp``: ERP connections, sync requests and sync logs.

Roles: every role reads; admins manage connections and run ``test``; admins and operators
trigger syncs and retries. ``auth_config`` is write-only: responses list ``auth_config_keys``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from plantsync.api import docs
from plantsync.api.deps import (
    Admin,
    AnyRole,
    ClockDep,
    DatabaseDep,
    Operator,
    ReadSession,
    SettingsDep,
    WriteSession,
)
from plantsync.api.routes import erp_examples as ex
from plantsync.core.models.connections import ConnectionCreate, ConnectionPublic, ConnectionUpdate
from plantsync.core.models.integration import SyncStatus, SyncTrigger
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services import connections as service
from plantsync.core.services import sync_logs
from plantsync.core.services.sync_logs import LogFilters, SyncLogDetail, SyncLogPublic
from plantsync.core.sync import runs
from plantsync.entities import Direction, EntityType

router = APIRouter(prefix="/api/v1/erp", tags=["erp"])

_QUEUED = docs.answers(ex.PENDING_LOG, 202, "Queued: the new pending log (URL in Location)")
_ALREADY_QUEUED = docs.answers(
    ex.RUNNING_LOG,
    200,
    "A run of this entity is already pending or in progress: that log",
    model=SyncLogPublic,
)
_NAME_TAKEN = docs.error(
    409, "A connection named 'SAP Production' already exists",
    {"name": ["A connection named 'SAP Production' already exists"]},
)  # fmt: skip
_TOO_MANY = docs.error(
    409, "This tenant has 10 connections, the most allowed is 10: delete one first"
)
_LINKS = docs.error(
    409,
    "This connection has links to records of the ERP at its current base_url; they would point "
    "at the wrong system. Send reset_links: true to drop them (the next runs then match records "
    "anew)",
    {"base_url": ["This connection has links to records of the ERP at its current base_url"]},
)
_BAD_PAIR = docs.error(
    400,
    "sap connections cannot sync inbound downtime; allowed: outbound work_order, "
    "outbound production_data, outbound downtime, inbound machine, inbound work_order",
    code="bad_request",
    description="The provider cannot sync this direction and entity (names the allowed pairs)",
)


class SyncRequest(BaseModel):
    """``entity_id``: the local UUID for outbound, the ERP key for inbound (optional)."""

    model_config = ConfigDict(extra="forbid")

    direction: Direction
    entity_type: EntityType
    entity_id: str | None = Field(default=None, max_length=200)


class TestResult(BaseModel):
    success: bool
    latency_ms: int
    message: str


def _wake_executor(request: Request) -> None:
    executor = getattr(request.app.state, "executor", None)
    if executor is not None:
        executor.wake()


# --- connections -----------------------------------------------------------------------------


@router.get(
    "/connections",
    response_model=Page[ConnectionPublic],
    responses=docs.answers(docs.page(ex.CONNECTION)),
)
def list_connections(caller: AnyRole, session: ReadSession, clock: ClockDep) -> Any:
    """The tenant's connections (at most 10; archived ones are hidden). Never a secret."""
    rows = service.list_connections(session=session, tenant_id=caller.tenant_id)
    items = [service.to_public(session=session, connection=c, clock=clock) for c in rows]
    return Page(items=items, next_cursor=None)


@router.post(
    "/connections",
    response_model=ConnectionPublic,
    status_code=status.HTTP_201_CREATED,
    responses=docs.answers(ex.CONNECTION, 201, "Created") | _NAME_TAKEN | _TOO_MANY,
)
def create_connection(
    body: Annotated[ConnectionCreate, docs.body("SAP S/4HANA", ex.CONNECTION_IN)],
    caller: Admin,
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> Any:
    """Create a connection. ``field_mappings`` keys are canonical fields (``plantsync mappings
    fields``): ``field``, ``entity.field`` or ``entity.@resource``."""
    conn = service.create_connection(
        session=session, tenant_id=caller.tenant_id, data=body, principal=caller,
        settings=settings, clock=clock,
    )  # fmt: skip
    return service.to_public(session=session, connection=conn, clock=clock)


@router.get(
    "/connections/{connection_id}",
    response_model=ConnectionPublic,
    responses=docs.answers(ex.CONNECTION),
)
def get_connection(
    connection_id: uuid.UUID, caller: AnyRole, session: ReadSession, clock: ClockDep
) -> Any:
    conn = service.get_connection(
        session=session, tenant_id=caller.tenant_id, connection=connection_id
    )
    return service.to_public(session=session, connection=conn, clock=clock)


@router.patch(
    "/connections/{connection_id}",
    response_model=ConnectionPublic,
    responses=docs.answers(ex.CONNECTION_UPDATED) | _LINKS,
)
def update_connection(
    connection_id: uuid.UUID,
    body: Annotated[
        ConnectionUpdate, docs.body("A shorter interval and a new password", ex.CONNECTION_UPDATE)
    ],
    caller: Admin,
    session: WriteSession,
    settings: SettingsDep,
    clock: ClockDep,
) -> Any:
    """Change the given fields; ``auth_config`` keys given replace the stored ones."""
    conn = service.update_connection(
        session=session, tenant_id=caller.tenant_id, connection=connection_id, data=body,
        principal=caller, settings=settings, clock=clock,
    )  # fmt: skip
    return service.to_public(session=session, connection=conn, clock=clock)


@router.delete(
    "/connections/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=docs.error(
        409,
        f"A sync run of this connection is in progress (log {ex.LOG_ID}); delete the "
        "connection when it has finished",
    ),
)
def delete_connection(
    connection_id: uuid.UUID, caller: Admin, session: WriteSession, clock: ClockDep
) -> None:
    """Archive the connection (409 while one of its runs is in progress); logs and links stay."""
    service.delete_connection(
        session=session, tenant_id=caller.tenant_id, connection=connection_id, principal=caller,
        clock=clock,
    )  # fmt: skip


@router.post(
    "/connections/{connection_id}/test",
    response_model=TestResult,
    responses=docs.answers(ex.TEST_OK),
)
def test_connection(
    connection_id: uuid.UUID,
    caller: Admin,
    database: DatabaseDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Any:
    """Run the connector's diagnostics against the ERP (credentials, services, latency)."""
    result = service.test_connection(
        database=database, tenant_id=caller.tenant_id, connection=connection_id,
        principal=caller, settings=settings, clock=clock,
    )  # fmt: skip
    return TestResult(success=result.success, latency_ms=result.latency_ms, message=result.message)


@router.post(
    "/connections/{connection_id}/sync",
    response_model=SyncLogPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_QUEUED | _ALREADY_QUEUED | _BAD_PAIR,
)
def request_sync(
    connection_id: uuid.UUID,
    body: Annotated[SyncRequest, docs.body("Push one work order", ex.SYNC_IN)],
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> Any:
    """Queue a run: 202 with the new ``pending`` log, or 200 with the run already queued."""
    log, created = runs.request_sync(
        session=session, tenant_id=caller.tenant_id, connection_id=connection_id,
        direction=body.direction, entity_type=body.entity_type, entity_id=body.entity_id,
        trigger=SyncTrigger.manual, principal=caller, clock=clock,
    )  # fmt: skip
    return _queued(log, created, request, response)


def _queued(log: Any, created: bool, request: Request, response: Response) -> SyncLogPublic:
    response.status_code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    response.headers["Location"] = sync_logs.log_url(log.id)
    if created:
        _wake_executor(request)
    return sync_logs.log_public(log)


@router.get(
    "/connections/{connection_id}/logs",
    response_model=Page[SyncLogPublic],
    responses=docs.answers(docs.page(ex.FAILED_LOG)),
)
def connection_logs(
    connection_id: uuid.UUID,
    caller: AnyRole,
    session: ReadSession,
    status_: SyncStatus | None = Query(None, alias="status"),
    direction: Direction | None = None,
    entity_type: EntityType | None = None,
    from_: datetime | None = Query(None, alias="from"),
    to: datetime | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Any:
    """This connection's logs, newest first (archived connections' logs stay readable)."""
    filters = LogFilters(
        connection_id=connection_id, status=status_, direction=direction,
        entity_type=entity_type, from_=from_, to=to,
    )  # fmt: skip
    return sync_logs.connection_logs(
        session=session, tenant_id=caller.tenant_id, filters=filters, limit=limit, cursor=cursor
    )


# --- logs ------------------------------------------------------------------------------------


@router.get(
    "/logs",
    response_model=Page[SyncLogPublic],
    responses=docs.answers(docs.page(ex.PENDING_LOG, ex.FAILED_LOG)),
)
def list_logs(
    caller: AnyRole,
    session: ReadSession,
    connection_id: uuid.UUID | None = None,
    status_: SyncStatus | None = Query(None, alias="status"),
    direction: Direction | None = None,
    entity_type: EntityType | None = None,
    from_: datetime | None = Query(None, alias="from"),
    to: datetime | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Any:
    """All sync logs of the tenant, newest first; ``from`` inclusive, ``to`` exclusive."""
    filters = LogFilters(
        connection_id=connection_id, status=status_, direction=direction,
        entity_type=entity_type, from_=from_, to=to,
    )  # fmt: skip
    return sync_logs.list_logs(
        session=session, tenant_id=caller.tenant_id, filters=filters, limit=limit, cursor=cursor
    )


@router.get(
    "/logs/{log_id}", response_model=SyncLogDetail, responses=docs.answers(ex.FAILED_LOG_DETAIL)
)
def get_log(log_id: uuid.UUID, caller: AnyRole, session: ReadSession) -> Any:
    """One run with its per-record errors."""
    return sync_logs.get_log_detail(session=session, tenant_id=caller.tenant_id, log_id=log_id)


@router.post(
    "/logs/{log_id}/retry",
    response_model=SyncLogPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=docs.answers(ex.RETRY_LOG, 202, "Queued: the new pending log (URL in Location)")
    | _ALREADY_QUEUED
    | docs.error(409, "Only failed, partial or skipped runs can be retried; this run is success"),
)
def retry_log(
    log_id: uuid.UUID,
    caller: Operator,
    session: WriteSession,
    clock: ClockDep,
    request: Request,
    response: Response,
) -> Any:
    """Run a failed, partial or skipped run's entity (and record) again (409 otherwise)."""
    log, created = runs.retry_log(
        session=session, tenant_id=caller.tenant_id, log_id=log_id, principal=caller, clock=clock
    )
    return _queued(log, created, request, response)
