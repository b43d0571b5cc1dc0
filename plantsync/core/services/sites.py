"""Sites (plants): code, name and the IANA time zone shifts and "today" are computed in."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.maintenance import SparePart, WorkOrder
from plantsync.core.models.plant import Machine, Site, SiteCreate, SitePublic, SiteUpdate
from plantsync.core.paging import Page
from plantsync.core.services.plant_common import (
    apply_values,
    changed_fields,
    commit_or_conflict,
    get_owned,
    keyset_page,
)
from plantsync.errors import ConflictError, ValidationError


def to_public(site: Site) -> SitePublic:
    return SitePublic.model_validate(site, from_attributes=True)


def get_site(*, session: Session, tenant_id: uuid.UUID, site_id: uuid.UUID) -> Site:
    return get_owned(session, Site, tenant_id, site_id, "site")


def find_site_by_code(*, session: Session, tenant_id: uuid.UUID, code: str) -> Site | None:
    s: Any = Site
    return session.execute(
        select(Site).where(s.tenant_id == tenant_id, s.code == code)
    ).scalar_one_or_none()


def resolve_site_ref(
    *, session: Session, tenant_id: uuid.UUID, site_id: uuid.UUID | None, site_code: str | None
) -> uuid.UUID | None:
    """The id of the site named by id or code in this tenant (None when neither is given);
    ``ValidationError`` naming the field when it is unknown."""
    if site_id is not None:
        site = session.get(Site, site_id)
        if site is None or site.tenant_id != tenant_id:
            raise ValidationError.single("site_id", f"no site {site_id}")
        return site_id
    if site_code:
        found = find_site_by_code(session=session, tenant_id=tenant_id, code=site_code)
        if found is None:
            raise ValidationError.single("site_code", f"no site with code {site_code!r}")
        return found.id
    return None


def site_zone(site: Site | None) -> zoneinfo.ZoneInfo:
    """The site's time zone (UTC for no site)."""
    return zoneinfo.ZoneInfo(site.timezone if site else "UTC")


def site_local_date(site: Site | None, at: datetime) -> Any:
    """The calendar date at the site at instant ``at`` ("today" at the plant)."""
    return at.astimezone(site_zone(site)).date()


def create_site(
    *, session: Session, tenant_id: uuid.UUID, data: SiteCreate, clock: Clock = SYSTEM_CLOCK
) -> Site:
    """Creates a site; ``ConflictError`` if its code exists in the tenant."""
    if find_site_by_code(session=session, tenant_id=tenant_id, code=data.code):
        raise ConflictError(f"A site with code {data.code!r} already exists")
    now = clock.now()
    site = Site(**data.model_dump(), tenant_id=tenant_id, created_at=now, updated_at=now)
    session.add(site)
    _commit(session, data.code)
    return site


def _commit(session: Session, code: str) -> None:
    commit_or_conflict(session, f"A site with code {code!r} already exists")


def list_sites(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[SitePublic]:
    s: Any = Site
    stmt = select(Site).where(s.tenant_id == tenant_id)
    rows, nxt = keyset_page(session, stmt, order=[s.code, s.id], limit=limit, cursor=cursor)
    return Page[SitePublic](items=[to_public(r) for r in rows], next_cursor=nxt)


def update_site(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    site_id: uuid.UUID,
    data: SiteUpdate,
    clock: Clock = SYSTEM_CLOCK,
) -> Site:
    site = get_site(session=session, tenant_id=tenant_id, site_id=site_id)
    values = data.model_dump(exclude_unset=True)
    for field in ("code", "name", "timezone"):
        if field in values and values[field] is None:
            raise ValidationError.single(field, "may not be null")
    new_code = values.get("code")
    if (
        new_code
        and new_code != site.code
        and find_site_by_code(session=session, tenant_id=tenant_id, code=new_code)
    ):
        raise ConflictError(f"A site with code {new_code!r} already exists")
    diff = changed_fields(site, values)
    if diff:
        apply_values(site, diff)
        site.updated_at = clock.now()
        _commit(session, site.code)
    return site


def delete_site(*, session: Session, tenant_id: uuid.UUID, site_id: uuid.UUID) -> None:
    """Deletes an unused site; 409 while machines, work orders or spare parts refer to it."""
    site = get_site(session=session, tenant_id=tenant_id, site_id=site_id)
    for model in (Machine, WorkOrder, SparePart):
        ref: Any = model
        if session.execute(select(ref.id).where(ref.site_id == site_id).limit(1)).first():
            raise ConflictError(f"Site {site.code} is still used by {ref.__tablename__} rows")
    session.delete(site)
    session.commit()
