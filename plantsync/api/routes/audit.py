"""``/api/v1/audit``: who changed what, when (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from plantsync.api import docs
from plantsync.api.deps import Admin, ReadSession
from plantsync.api.routes import account_examples as ex
from plantsync.core.models.audit import AuditEntryPublic
from plantsync.core.paging import MAX_LIMIT, Page
from plantsync.core.services.audit import list_audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryPublic], responses=docs.answers(docs.page(ex.AUDIT)))
def list_entries(
    caller: Admin,
    session: ReadSession,
    action: str | None = Query(None, max_length=64, description="e.g. user.create"),
    target_type: str | None = Query(None, max_length=64),
    target_id: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=1000),
) -> Page[AuditEntryPublic]:
    """The tenant's audit log, newest first."""
    return list_audit(
        session=session, tenant_id=caller.tenant_id, limit=limit, cursor=cursor,
        action=action, target_type=target_type, target_id=target_id,
    )  # fmt: skip
