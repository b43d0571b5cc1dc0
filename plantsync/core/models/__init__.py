"""Every table of the product. Import this package to register them all on ``SQLModel.metadata``.

One module per area; each helper of the sync engine, API and CLI imports the models it needs
from here.
"""

from plantsync.core.models.accounts import ApiKey, LoginFailure, RefreshToken, ServiceAccount, User
from plantsync.core.models.audit import AuditEntry
from plantsync.core.models.tenancy import Tenant, TenantPublic

__all__ = [
    "ApiKey",
    "AuditEntry",
    "LoginFailure",
    "RefreshToken",
    "ServiceAccount",
    "Tenant",
    "TenantPublic",
    "User",
]
