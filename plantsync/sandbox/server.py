"""The sandbox server: the three fake ERPs behind one HTTPS origin, plus control endpoints.

``Sandbox`` is one ASGI app. A request whose path starts with a provider sandbox's prefix goes
to that provider (through the fault middleware, which also counts it); ``/_sandbox/`` is the
control surface tests and scripts use:

- ``GET  /_sandbox/info``                        every provider's base_url, auth_config, tls
- ``GET  /_sandbox/faults`` / ``PUT`` (FaultConfig JSON, replaces the faults)
- ``POST /_sandbox/reset`` ``{"records": N, "providers": [...]}`` regenerate data, clear counters
- ``GET  /_sandbox/dump/{provider}/{entity}``    the ERP's records of an entity
- ``GET  /_sandbox/requests[?provider=]`` / ``DELETE``  request counters and a short log
- ``GET  /_sandbox/idle[?timeout=S]``            waits until no ERP request is in flight

``SandboxRunner`` serves it with uvicorn over HTTPS (a CA and certificate made at start) in the
calling thread (the CLI) or a background thread (tests).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from plantsync.sandbox import tls
from plantsync.sandbox.base import ENTITIES, ProviderSandbox
from plantsync.sandbox.faults import (
    DropNoiseFilter,
    FaultConfig,
    FaultInjector,
    FaultMiddleware,
    RequestStats,
)

log = logging.getLogger(__name__)

PROVIDER_MODULES: Mapping[str, str] = {
    "sap": "plantsync.sandbox.sap.app",
    "dynamics": "plantsync.sandbox.dynamics.app",
    "oracle": "plantsync.sandbox.oracle.app",
}
CONTROL_PREFIX = "/_sandbox/"


def load_provider_class(name: str) -> type[ProviderSandbox] | None:
    """The provider sandbox class of ``name``, or None when its module does not exist."""
    module_name = PROVIDER_MODULES[name]
    if importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and value.__module__ == module_name
            and getattr(value, "name", None) == name
            and all(hasattr(value, a) for a in ("prefixes", "info", "dump", "reset"))
        ):
            return value
    raise RuntimeError(f"{module_name} defines no sandbox class with name = {name!r}")


class Sandbox:
    """The fake ERPs and their control endpoints as one ASGI app.

    Args:
        records: records per entity each provider generates.
        seed: seed of the generated data.
        faults: faults to inject from the start.
        providers: which providers to serve (default: every one whose module exists).
    """

    def __init__(
        self,
        *,
        records: int = 200,
        seed: int = 0,
        faults: FaultConfig | None = None,
        providers: Iterable[str] | None = None,
    ) -> None:
        self.records = records
        self.seed = seed
        self.origin = ""
        self.ca_pem = ""
        self.injector = FaultInjector(faults)
        self.stats = RequestStats()
        self.providers: dict[str, ProviderSandbox] = {}
        self.missing: list[str] = []
        for name in providers or PROVIDER_MODULES:
            cls = load_provider_class(name)
            if cls is None:
                self.missing.append(name)
                continue
            self.providers[name] = cls(records=records, seed=seed)
        self._routes = self._provider_routes()
        self._control = self._control_app()

    def _provider_routes(self) -> list[tuple[str, FaultMiddleware]]:
        routes = [
            (
                prefix,
                FaultMiddleware(p.app, provider=name, injector=self.injector, stats=self.stats),
            )
            for name, p in self.providers.items()
            for prefix in p.prefixes
        ]
        return sorted(routes, key=lambda r: len(r[0]), reverse=True)  # longest prefix wins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._control(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return
        for prefix, app in self._routes:
            if path.startswith(prefix):
                await app(scope, receive, send)
                return
        known = ", ".join(p for p, _ in reversed(self._routes))
        response = JSONResponse(
            {"error": {"code": "NotFound", "message": f"no sandbox serves {path}; try {known}"}},
            status_code=404,
        )
        await response(scope, receive, send)

    # -- information -------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Per provider: ``base_url``, a working ``auth_config`` and ``tls.ca_bundle_pem``."""
        out: dict[str, Any] = {}
        for name, provider in self.providers.items():
            entry = dict(provider.info(self.origin))
            entry["tls"] = {**entry.get("tls", {}), "ca_bundle_pem": self.ca_pem}
            out[name] = entry
        return out

    def reset(self, *, records: int | None = None, providers: Iterable[str] | None = None) -> None:
        if records is not None:
            self.records = records
        for name in providers or self.providers:
            self._provider(name).reset(records=self.records)
        self.stats.clear()

    def _provider(self, name: str) -> ProviderSandbox:
        try:
            return self.providers[name]
        except KeyError:
            raise LookupError(
                f"unknown provider {name!r}; served: {', '.join(self.providers)}"
            ) from None

    # -- control endpoints -------------------------------------------------------------------

    def _control_app(self) -> Starlette:
        p = CONTROL_PREFIX
        return Starlette(
            routes=[
                Route(f"{p}info", self._get_info, methods=["GET"]),
                Route(f"{p}faults", self._get_faults, methods=["GET"]),
                Route(f"{p}faults", self._put_faults, methods=["PUT"]),
                Route(f"{p}reset", self._post_reset, methods=["POST"]),
                Route(f"{p}dump/{{provider}}/{{entity}}", self._get_dump, methods=["GET"]),
                Route(f"{p}requests", self._get_requests, methods=["GET"]),
                Route(f"{p}requests", self._delete_requests, methods=["DELETE"]),
                Route(f"{p}idle", self._get_idle, methods=["GET"]),
            ]
        )

    async def _get_info(self, request: Request) -> Response:
        return JSONResponse(self.info())

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self.injector.config.model_dump(mode="json"))

    async def _put_faults(self, request: Request) -> Response:
        try:
            config = FaultConfig.model_validate_json(await request.body())
        except ValidationError as exc:
            return _bad_request(exc.errors(include_url=False, include_context=False))
        self.injector.configure(config)
        return JSONResponse(config.model_dump(mode="json"))

    async def _post_reset(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
            records = body.get("records")
            if records is not None and (not isinstance(records, int) or records < 0):
                return _bad_request({"records": "a whole number >= 0"})
            self.reset(records=records, providers=body.get("providers"))
        except (ValueError, AttributeError) as exc:
            return _bad_request(str(exc))
        except LookupError as exc:
            return _bad_request(str(exc.args[0]))
        return JSONResponse({"records": self.records, "providers": list(self.providers)})

    async def _get_dump(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in ENTITIES:
            return _bad_request(f"unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
        try:
            provider = self._provider(request.path_params["provider"])
        except LookupError as exc:
            return JSONResponse({"error": str(exc.args[0])}, status_code=404)
        return Response(
            json.dumps(provider.dump(entity), default=str), media_type="application/json"
        )

    async def _get_requests(self, request: Request) -> Response:
        name = request.query_params.get("provider")
        return JSONResponse(self.stats.snapshot(name))

    async def _delete_requests(self, request: Request) -> Response:
        self.stats.clear()
        return Response(status_code=204)

    async def _get_idle(self, request: Request) -> Response:
        try:
            timeout = min(300.0, max(0.0, float(request.query_params.get("timeout", "30"))))
        except ValueError:
            return _bad_request("timeout must be a number of seconds")
        idle = await asyncio.to_thread(self.stats.wait_idle, timeout)
        return JSONResponse({"idle": idle}, status_code=200 if idle else 503)


def _bad_request(detail: Any) -> Response:
    return JSONResponse({"error": detail}, status_code=400)


def url_host(host: str) -> str:
    """The host to put in URLs for a bind address (wildcards become ``localhost``)."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming a wildcard, not binding one
        return "localhost"
    return f"[{host}]" if ":" in host else host


class SandboxRunner:
    """Serves a ``Sandbox`` with uvicorn over HTTPS on ``host:port`` (0: a free port).

    The socket is bound at construction, so ``origin`` (and the sandbox's info) is known
    before serving starts and clients that connect early simply queue.
    """

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.material = tls.generate([*tls.DEFAULT_HOSTS, host] if host else tls.DEFAULT_HOSTS)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(128)
        self.port: int = self.socket.getsockname()[1]
        self.origin = f"https://{url_host(host)}:{self.port}"
        sandbox.origin = self.origin
        sandbox.ca_pem = self.material.ca_pem
        self._tmp, cert, key = self.material.temp_files()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        config = uvicorn.Config(
            sandbox,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            lifespan="off",
            ws="none",
            http="h11",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self.server = _Server(config, self._ready)
        logging.getLogger("uvicorn.error").addFilter(DropNoiseFilter())

    def serve(self) -> None:
        """Serve in this thread until ``stop()`` (or Ctrl-C when this is the main thread)."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._cleanup()

    def start(self, timeout: float = 30.0) -> None:
        """Serve in a background thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self._run_thread, name="sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the sandbox server did not start in time")
        if self._error is not None:
            raise RuntimeError("the sandbox server failed to start") from self._error

    def _run_thread(self) -> None:
        try:
            self.serve()
        except BaseException as exc:  # handed to start()'s caller, not lost in the thread
            self._error = exc
        finally:
            self._ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def _cleanup(self) -> None:
        self.socket.close()
        self._tmp.cleanup()


class _Server(uvicorn.Server):
    """A uvicorn server that tells a waiting thread when it has started."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready_event = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready_event.set()
