"""ERP connectors: one interface (``base.Connector``), one subpackage per ERP, a registry.

Each ERP subpackage has the same shape: ``auth`` (credentials as an ``httpx.Auth``), ``codec``
(values to and from the ERP's JSON), ``batch`` (its bulk mechanism), ``client`` (a class over
``httpx.Client`` speaking the wire protocol), ``writer`` (pushes, built from the client and a
``find``) and a thin ``connector``. The subpackages never import each other.

``__all__`` below is the plug-in API: what a connector in an outside package (registered in
the entry-point group ``plantsync.connectors``) may build on. Everything else is internal.
"""

from plantsync.connectors.auth import OAuth2ClientCredentials
from plantsync.connectors.base import (
    ConnectionTestResult,
    Connector,
    ConnectorConfig,
    Cursor,
    ERPRecord,
    Page,
    PushRecord,
    PushResult,
    Reconcile,
    Resource,
    key_string,
)
from plantsync.connectors.http import RetryPolicy, TLSConfig, send
from plantsync.connectors.pagination import (
    NextPage,
    ODataNextLinkPaginator,
    ODataV2NextPaginator,
    OffsetHasMorePaginator,
    PaginationLoopError,
    Paginator,
)
from plantsync.connectors.translate import classify_status, retry_after_seconds
from plantsync.entities import ENTITY_MATRIX, Direction, EntitySupport, EntityType

__all__ = [
    "ENTITY_MATRIX",
    "ConnectionTestResult",
    "Connector",
    "ConnectorConfig",
    "Cursor",
    "Direction",
    "ERPRecord",
    "EntitySupport",
    "EntityType",
    "NextPage",
    "OAuth2ClientCredentials",
    "ODataNextLinkPaginator",
    "ODataV2NextPaginator",
    "OffsetHasMorePaginator",
    "Page",
    "PaginationLoopError",
    "Paginator",
    "PushRecord",
    "PushResult",
    "Reconcile",
    "Resource",
    "RetryPolicy",
    "TLSConfig",
    "classify_status",
    "key_string",
    "retry_after_seconds",
    "send",
]
