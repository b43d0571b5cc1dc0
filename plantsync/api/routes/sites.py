"""``/api/v1/sites``: plants with their IANA time zone (admin writes, everyone reads)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from plantsync.api.deps import Admin, AnyRole, ClockDep, ReadSession, WriteSession
from plantsync.api.routes.plant_examples import SITE, answers, body, page
from plantsync.core.models.plant import SiteCreate, SitePublic, SiteUpdate
from plantsync.core.paging import Page
from plantsync.core.services import sites

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


@router.get("", response_model=Page[SitePublic], responses=answers(page(SITE)))
def list_sites(
    caller: AnyRole,
    session: ReadSession,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[SitePublic]:
    """Sites by code."""
    return sites.list_sites(session=session, tenant_id=caller.tenant_id, limit=limit, cursor=cursor)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=SitePublic, responses=answers(SITE, 201)
)
def create_site(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    data: Annotated[
        SiteCreate,
        body("A site", {"code": "HAM", "name": "Hamburg plant", "timezone": "Europe/Berlin"}),
    ],
) -> SitePublic:
    """Creates a site; 409 if the code exists."""
    site = sites.create_site(session=session, tenant_id=caller.tenant_id, data=data, clock=clock)
    return sites.to_public(site)


@router.get("/{site_id}", response_model=SitePublic, responses=answers(SITE))
def get_site(caller: AnyRole, session: ReadSession, site_id: uuid.UUID) -> SitePublic:
    return sites.to_public(
        sites.get_site(session=session, tenant_id=caller.tenant_id, site_id=site_id)
    )


@router.patch("/{site_id}", response_model=SitePublic, responses=answers(SITE))
def update_site(
    caller: Admin,
    session: WriteSession,
    clock: ClockDep,
    site_id: uuid.UUID,
    data: Annotated[SiteUpdate, body("Move to another zone", {"timezone": "America/Chicago"})],
) -> SitePublic:
    site = sites.update_site(
        session=session, tenant_id=caller.tenant_id, site_id=site_id, data=data, clock=clock
    )
    return sites.to_public(site)


@router.delete("/{site_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_site(caller: Admin, session: WriteSession, site_id: uuid.UUID) -> Response:
    """Deletes an unused site (409 while machines, work orders or parts refer to it)."""
    sites.delete_site(session=session, tenant_id=caller.tenant_id, site_id=site_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
