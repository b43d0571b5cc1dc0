"""Shared column helpers for the SQLModel tables: UUID ids, UTC timestamps, tenant scoping."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field

from plantsync.core.clock import utcnow
from plantsync.core.db import UTCDateTime, new_id


def id_field() -> Any:
    return Field(default_factory=new_id, primary_key=True)


def tenant_field() -> Any:
    return Field(foreign_key="tenant.id", index=True, nullable=False)


def utc_field(*, nullable: bool = False, index: bool = False, default_now: bool = True) -> Any:
    kwargs: dict[str, Any] = {"sa_type": UTCDateTime, "nullable": nullable, "index": index}
    if default_now and not nullable:
        kwargs["default_factory"] = utcnow
    elif nullable:
        kwargs["default"] = None
    return Field(**kwargs)


__all__ = ["datetime", "id_field", "tenant_field", "utc_field", "uuid"]
