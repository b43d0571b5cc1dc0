"""``Annotated`` dependency aliases for the routes: database, session, clock, caller, roles.

Role rules are declared per endpoint with ``requires(Role.x)``::

    @router.post("/machines")
    def create(caller: Annotated[Principal, requires(Role.admin)], session: WriteSession): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from plantsync.core.clock import Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Principal, Role
from plantsync.errors import PermissionDeniedError


# Dependencies that do no I/O are ``async``: FastAPI runs them on the event loop instead of
# sending each to the thread pool (a thread hop apiece, on every request). Only the database
# work (authentication, the endpoint, closing a session that used a connection) goes there.
async def get_database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_read_session(
    db: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[Session]:
    """The request's read session, shared by the caller's authentication and the route."""
    session = db.session(write=False)
    try:
        yield session
    finally:
        await _close(session)


async def get_write_session(
    db: Annotated[Database, Depends(get_database)],
    reader: Annotated[Session, Depends(get_read_session)],
) -> AsyncIterator[Session]:
    """A session the endpoint's service function commits; rolled back if the request fails.

    The read transaction the caller was authenticated in ends first, so a writing request
    does not hold a second connection while it writes (the read session begins anew if the
    route reads with it).
    """
    if reader.in_transaction():
        await run_in_threadpool(reader.rollback)
    session = db.session(write=True)
    try:
        yield session
    finally:
        await _close(session)


async def _close(session: Session) -> None:
    """Closes ``session``: in the thread pool when it holds a transaction (the rollback and
    the connection's return are I/O), else at once."""
    if session.in_transaction():
        await run_in_threadpool(session.close)
    else:
        session.close()


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ReadSession = Annotated[Session, Depends(get_read_session)]
WriteSession = Annotated[Session, Depends(get_write_session)]


def get_principal(
    request: Request, session: Annotated[Session, Depends(get_read_session)]
) -> Principal:
    """The authenticated caller (bearer JWT or ``X-API-Key``); 401 otherwise.

    The account is read in the request's read session: a route that also takes
    ``ReadSession`` gets the same session (FastAPI resolves a dependency once per request),
    so authenticating costs no session or connection of its own.
    """
    from plantsync.api.auth import authenticate_request

    return authenticate_request(request, session=session)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def requires(role: Role) -> Any:
    """A dependency that yields the caller when its role is at least ``role``, else 403."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.allows(role):
            raise PermissionDeniedError(f"This action needs the {role.value} role")
        return principal

    return Depends(check)


AnyRole = Annotated[Principal, requires(Role.viewer)]
Operator = Annotated[Principal, requires(Role.operator)]
Admin = Annotated[Principal, requires(Role.admin)]
