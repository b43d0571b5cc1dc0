"""``Annotated`` dependency aliases for the routes: database, session, clock, caller, roles.

Role rules are declared per endpoint with ``requires(Role.x)``::

    @router.post("/machines")
    def create(caller: Annotated[Principal, requires(Role.admin)], session: WriteSession): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session

from plantsync.core.clock import Clock
from plantsync.core.config import Settings
from plantsync.core.db import Database
from plantsync.core.principal import Principal, Role
from plantsync.errors import PermissionDeniedError


def get_database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_read_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with db.read_session() as session:
        yield session


def get_write_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session the endpoint's service function commits; rolled back if the request fails."""
    session = db.session(write=True)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ReadSession = Annotated[Session, Depends(get_read_session)]
WriteSession = Annotated[Session, Depends(get_write_session)]


def get_principal(request: Request) -> Principal:
    """The authenticated caller (bearer JWT or ``X-API-Key``); 401 otherwise."""
    from plantsync.api.auth import authenticate_request

    return authenticate_request(request)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def requires(role: Role) -> Any:
    """A dependency that yields the caller when its role is at least ``role``, else 403."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.allows(role):
            raise PermissionDeniedError(f"This action needs the {role.value} role")
        return principal

    return Depends(check)


AnyRole = Annotated[Principal, requires(Role.viewer)]
Operator = Annotated[Principal, requires(Role.operator)]
Admin = Annotated[Principal, requires(Role.admin)]
