"""The shape every provider sandbox (a local fake ERP) implements.

A provider sandbox serves one ERP protocol under its path ``prefixes`` (e.g. ``/sap/``) from
generated plant data held in memory. The sandbox server (``server.py``) mounts each provider's
``app`` under one HTTPS origin, asks ``info(base_url)`` what a client needs to connect, and
uses ``dump``/``reset`` for its control endpoints (tests compare the ERP's state with ours).

Nothing in the product imports this package: it is a test double for demos, tests and benchmarks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from starlette.types import ASGIApp

SandboxEntity = Literal["machine", "work_order", "downtime", "production_data"]
ENTITIES: tuple[SandboxEntity, ...] = ("machine", "work_order", "downtime", "production_data")


@runtime_checkable
class ProviderSandbox(Protocol):
    """One provider's fake ERP.

    Attributes:
        name: the provider's name (``sap``, ``dynamics``, ``oracle``), as in the registry.
        prefixes: the URL path prefixes it serves (``("/sap/",)``); the server routes every
            request whose path starts with one of them to ``app``, unchanged.
        app: a Starlette ASGI app for those paths (it sees the full request path).
    """

    name: ClassVar[str]
    prefixes: ClassVar[tuple[str, ...]]
    app: ASGIApp

    def __init__(self, *, records: int, seed: int = 0) -> None:
        """Generate ``records`` records per entity, deterministically from ``seed``."""

    def info(self, base_url: str) -> dict[str, Any]:
        """What a client needs, given the server's origin (``https://127.0.0.1:8443``).

        Returns:
            ``{"base_url": ..., "auth_config": {...working credentials...}, ...}``; the
            server adds ``tls.ca_bundle_pem``.
        """

    def dump(self, entity: str) -> list[dict[str, Any]]:
        """The ERP's current records of ``entity`` (machine|work_order|downtime|production_data)."""

    def reset(self, *, records: int) -> None:
        """Drop every change and regenerate ``records`` records per entity."""
