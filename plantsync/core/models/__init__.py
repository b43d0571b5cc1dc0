"""Every table of the product. Import this package to register them all on ``SQLModel.metadata``.

One module per area; each helper of the sync engine, API and CLI imports the models it needs
from here.
"""

from plantsync.core.models.tenancy import Tenant, TenantPublic

__all__ = ["Tenant", "TenantPublic"]
