"""Every table of the product. Import this package to register them all on ``SQLModel.metadata``.

One module per area; each helper of the sync engine, API and CLI imports the models it needs
from here.
"""

from plantsync.core.models.accounts import ApiKey, LoginFailure, RefreshToken, ServiceAccount, User
from plantsync.core.models.audit import AuditEntry
from plantsync.core.models.change import ChangeCounter, ChangeTracked, OriginKind
from plantsync.core.models.downtime import AndonCall, DowntimeEvent
from plantsync.core.models.integration import (
    Connection,
    ExternalLink,
    SyncCursor,
    SyncLog,
    SyncRecordError,
)
from plantsync.core.models.maintenance import (
    FailureMode,
    RootCause,
    SparePart,
    WorkOrder,
    WorkOrderLabor,
    WorkOrderPart,
)
from plantsync.core.models.plant import Machine, MachineStatusChange, Site
from plantsync.core.models.production import CycleSubmission, ProductionRun
from plantsync.core.models.tenancy import Tenant, TenantPublic
from plantsync.core.models.workforce import CrewCheckIn, ShiftSchedule

__all__ = [
    "AndonCall",
    "ApiKey",
    "AuditEntry",
    "ChangeCounter",
    "ChangeTracked",
    "Connection",
    "CrewCheckIn",
    "CycleSubmission",
    "DowntimeEvent",
    "ExternalLink",
    "FailureMode",
    "LoginFailure",
    "Machine",
    "MachineStatusChange",
    "OriginKind",
    "ProductionRun",
    "RefreshToken",
    "RootCause",
    "ServiceAccount",
    "ShiftSchedule",
    "Site",
    "SparePart",
    "SyncCursor",
    "SyncLog",
    "SyncRecordError",
    "Tenant",
    "TenantPublic",
    "User",
    "WorkOrder",
    "WorkOrderLabor",
    "WorkOrderPart",
]
