"""Tenants: create, list, and ``resolve_tenant`` for every tenant-scoped CLI command."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from plantsync.core.clock import SYSTEM_CLOCK, Clock
from plantsync.core.models.tenancy import Tenant, TenantBase
from plantsync.errors import ConflictError, NotFoundError, ValidationError


def create_tenant(*, session: Session, name: str, clock: Clock = SYSTEM_CLOCK) -> Tenant:
    """Creates and commits a tenant.

    Raises:
        ValidationError: the name is empty or too long (field ``name``).
        ConflictError: a tenant with this name exists.
    """
    name = name.strip()
    try:
        TenantBase(name=name)
    except ValueError as exc:
        raise ValidationError.single("name", "must be 1 to 100 characters") from exc
    if session.exec(select(Tenant).where(Tenant.name == name)).first() is not None:
        raise ConflictError(f"A tenant named {name!r} already exists")
    tenant = Tenant(name=name, created_at=clock.now())
    session.add(tenant)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"A tenant named {name!r} already exists") from exc
    return tenant


def list_tenants(*, session: Session) -> list[Tenant]:
    return list(session.exec(select(Tenant).order_by(col(Tenant.name))).all())


def get_tenant(*, session: Session, tenant_id: uuid.UUID) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError("Tenant", tenant_id)
    return tenant


def resolve_tenant(*, session: Session, tenant: str | None) -> Tenant:
    """The tenant named (or with the id) ``tenant``; when ``None``, the only tenant.

    Raises:
        NotFoundError: no tenant has that name or id.
        ValidationError: ``tenant`` is omitted and there is not exactly one tenant (field
            ``tenant``: the message lists the known names).
    """
    if tenant is None or not tenant.strip():
        count = session.exec(select(func.count()).select_from(Tenant)).one()
        if count == 1:
            return session.exec(select(Tenant)).one()
        if count == 0:
            raise ValidationError.single(
                "tenant", "no tenant exists yet: create one with `plantsync tenants create NAME`"
            )
        names = ", ".join(t.name for t in list_tenants(session=session)[:20])
        raise ValidationError.single(
            "tenant", f"several tenants exist, choose one with --tenant ({names})"
        )
    tenant = tenant.strip()
    found = session.exec(select(Tenant).where(Tenant.name == tenant)).first()
    if found is None:
        try:
            found = session.get(Tenant, uuid.UUID(tenant))
        except ValueError:
            found = None
    if found is None:
        raise NotFoundError("Tenant", tenant)
    return found
