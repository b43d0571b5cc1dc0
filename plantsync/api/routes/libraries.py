"""``/api/v1/failure-modes`` and ``/api/v1/root-causes``: the coded libraries downtime uses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from plantsync.api.deps import Admin, AnyRole, ClockDep, ReadSession, WriteSession
from plantsync.api.routes.plant_examples import LIBRARY, answers, body, page
from plantsync.core.models.maintenance import (
    FailureMode,
    LibraryEntryCreate,
    LibraryEntryPublic,
    LibraryEntryUpdate,
    RootCause,
)
from plantsync.core.paging import Page
from plantsync.core.services import libraries

router = APIRouter(tags=["failure modes and root causes"])

EntryIn = Annotated[
    LibraryEntryCreate,
    body("An entry", {"code": "SEAL-LEAK", "name": "Seal leaking", "machine_type": "press"}),
]
EntryChange = Annotated[LibraryEntryUpdate, body("Retire", {"is_active": False})]


def _routes(path: str, model: Any, label: str) -> None:

    @router.get(f"/api/v1/{path}", response_model=Page[LibraryEntryPublic],
                responses=answers(page(LIBRARY)), summary=f"List {label}s", operation_id=f"list_{path}")  # fmt: skip
    def list_entries(
        caller: AnyRole,
        session: ReadSession,
        machine_type: Annotated[str | None, Query(description="also entries for all types")] = None,
        is_active: bool | None = None,
        q: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int | None, Query(ge=1, le=500)] = None,
        cursor: str | None = None,
    ) -> Page[LibraryEntryPublic]:
        return libraries.list_entries(
            session=session, model=model, tenant_id=caller.tenant_id, machine_type=machine_type,
            is_active=is_active, q=q, limit=limit, cursor=cursor,
        )  # fmt: skip

    @router.post(f"/api/v1/{path}", status_code=status.HTTP_201_CREATED,
                 response_model=LibraryEntryPublic, responses=answers(LIBRARY, 201),
                 summary=f"Create a {label}", operation_id=f"create_{path}")  # fmt: skip
    def create_entry(
        caller: Admin,
        session: WriteSession,
        clock: ClockDep,
        data: EntryIn,
    ) -> LibraryEntryPublic:
        entry = libraries.create_entry(
            session=session, model=model, tenant_id=caller.tenant_id, data=data, clock=clock
        )
        return libraries.to_public(entry)

    @router.get(f"/api/v1/{path}/{{entry_id}}", response_model=LibraryEntryPublic,
                responses=answers(LIBRARY), summary=f"Get a {label}", operation_id=f"get_{path}")  # fmt: skip
    def get_entry(caller: AnyRole, session: ReadSession, entry_id: uuid.UUID) -> LibraryEntryPublic:
        return libraries.to_public(
            libraries.get_entry(
                session=session, model=model, tenant_id=caller.tenant_id, entry_id=entry_id
            )
        )

    @router.patch(f"/api/v1/{path}/{{entry_id}}", response_model=LibraryEntryPublic,
                  responses=answers(LIBRARY), summary=f"Update a {label}",
                  operation_id=f"update_{path}")  # fmt: skip
    def update_entry(
        caller: Admin,
        session: WriteSession,
        entry_id: uuid.UUID,
        data: EntryChange,
    ) -> LibraryEntryPublic:
        entry = libraries.update_entry(
            session=session, model=model, tenant_id=caller.tenant_id, entry_id=entry_id, data=data
        )
        return libraries.to_public(entry)

    @router.delete(f"/api/v1/{path}/{{entry_id}}", status_code=status.HTTP_204_NO_CONTENT,
                   response_class=Response, summary=f"Delete a {label}",
                   operation_id=f"delete_{path}")  # fmt: skip
    def delete_entry(caller: Admin, session: WriteSession, entry_id: uuid.UUID) -> Response:
        libraries.delete_entry(
            session=session, model=model, tenant_id=caller.tenant_id, entry_id=entry_id
        )
        return Response(status_code=status.HTTP_204_NO_CONTENT)


_routes("failure-modes", FailureMode, "failure mode")
_routes("root-causes", RootCause, "root cause")
