"""Fault injection for the sandbox: the failures real ERPs and networks produce, on demand.

``FaultConfig`` says what to inject; ``FaultInjector`` decides, request by request and
deterministically from the seed, what happens to each one; ``FaultMiddleware`` carries it out
around one provider sandbox's ASGI app and counts every request in ``RequestStats``.

Faults (each request draws at most one, in this order):

- ``throttle``: bursts of ``429 Too Many Requests`` with ``Retry-After`` (nothing is applied);
- ``error_rate``: that fraction of requests answered ``error_status`` (5xx). A read, or a write
  when ``after_commit`` is off, fails *before* the ERP sees it. With ``after_commit`` on, a
  write (POST/PUT/PATCH/MERGE/DELETE) is applied first and only its answer is lost;
- ``drop_rate``: that fraction of GET answers is cut mid-body (headers and part of the body,
  then the connection closes) - a dropped connection mid-page;
- ``latency_ms``: every matching request waits that long first (combines with the others);
- ``forbid``: requests whose path matches this regular expression are answered ``403`` (an
  account lacking an authorisation for one service or table).

``limit`` stops injecting after that many faults (latency does not count), so a test can ask
for "the next write loses its answer" and nothing more. Control endpoints (``/_sandbox/``)
never see faults; token and discovery endpoints only with ``include_auth``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})
# Token, discovery and CSRF-less auth endpoints of the three protocols (msal's discovery,
# OAuth2 token endpoints): faults reach them only when ``include_auth`` is set.
AUTH_PATH = re.compile(
    r"(/oauth2/|/token$|/token/|openid-configuration|/discovery/|/common/|/organizations/)",
    re.IGNORECASE,
)

FaultKind = Literal["forbidden", "throttle", "error", "after_commit", "drop"]


class Throttle(BaseModel):
    """Bursts of 429: ``burst`` consecutive requests, starting every ``every`` requests
    (0: one burst, at the next matching request)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    burst: int = Field(default=1, ge=1)
    every: int = Field(default=0, ge=0)
    retry_after: float = Field(default=1.0, ge=0)

    @classmethod
    def parse(cls, text: str) -> Throttle:
        """``BURST[:EVERY[:RETRY_AFTER]]``, e.g. ``3:100:2``."""
        expected = (
            f"{text!r} is not BURST[:EVERY[:RETRY_AFTER]] (BURST >= 1 and EVERY >= 0 whole "
            "numbers, RETRY_AFTER >= 0 seconds), e.g. 3:50:2"
        )
        parts = text.split(":")
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise ValueError(expected)
        names = ("burst", "every", "retry_after")
        try:
            return cls.model_validate(dict(zip(names, parts, strict=False)))
        except ValidationError:
            raise ValueError(expected) from None


class FaultConfig(BaseModel):
    """What the sandbox injects (see the module docstring). All zero: a healthy ERP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=503, ge=500, le=599)
    after_commit: bool = False
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    throttle: Throttle | None = None
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    providers: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    forbid: str | None = None
    include_auth: bool = False
    limit: int | None = Field(default=None, ge=0)
    seed: int = 0

    @field_validator("forbid")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            re.compile(v)  # re.error is a ValueError: reported as a validation error
        return v

    @field_validator("methods")
    @classmethod
    def _upper(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if v is None else tuple(m.upper() for m in v)


@dataclass(frozen=True)
class Decision:
    fault: FaultKind | None
    latency_s: float
    retry_after: float = 0.0


class FaultInjector:
    """Decides each request's fate from the config and a seeded random stream (thread-safe)."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the config; the random stream and the counters start again from its seed."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)  # noqa: S311 - reproducible faults
            self._seen = 0
            self._injected = 0

    def decide(self, provider: str, method: str, path: str) -> Decision:
        cfg = self._config
        if not self._applies(cfg, provider, method, path):
            return Decision(None, 0.0)
        if cfg.forbid is not None and re.search(cfg.forbid, path):
            return Decision("forbidden", cfg.latency_ms / 1000)
        with self._lock:
            fault, retry_after = self._draw(cfg, method)
            if fault is not None:
                self._injected += 1
        return Decision(fault, cfg.latency_ms / 1000, retry_after)

    @staticmethod
    def _applies(cfg: FaultConfig, provider: str, method: str, path: str) -> bool:
        if cfg.providers is not None and provider not in cfg.providers:
            return False
        if cfg.methods is not None and method not in cfg.methods:
            return False
        return cfg.include_auth or not AUTH_PATH.search(path)

    def _draw(self, cfg: FaultConfig, method: str) -> tuple[FaultKind | None, float]:
        index = self._seen
        self._seen += 1
        # Draw every number for every request so one fault's setting does not shift another's.
        error_roll, drop_roll = self._rng.random(), self._rng.random()
        if cfg.limit is not None and self._injected >= cfg.limit:
            return None, 0.0
        if cfg.throttle is not None and _in_burst(index, cfg.throttle):
            return "throttle", cfg.throttle.retry_after
        if error_roll < cfg.error_rate:
            return ("after_commit" if cfg.after_commit and method in WRITE_METHODS else "error"), 0
        if method == "GET" and drop_roll < cfg.drop_rate:
            return "drop", 0.0
        return None, 0.0


def _in_burst(index: int, throttle: Throttle) -> bool:
    position = index if throttle.every == 0 else index % throttle.every
    return position < throttle.burst


class RequestStats:
    """Requests seen per provider: by method, by status, faults injected, auth calls, and a
    short log (time, method, path, status, fault) for checks such as "waited Retry-After"."""

    def __init__(self, log_size: int = 5000) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._log_size = log_size
        self.clear()

    def begin(self, provider: str) -> None:
        """A request of ``provider`` arrived (it is in flight until ``end``)."""
        with self._lock:
            self._in_flight[provider] += 1

    def end(self, provider: str) -> None:
        with self._lock:
            self._in_flight[provider] -= 1
            if not any(self._in_flight.values()):
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until no request is in flight (a client that went away leaves its request
        running to its end); False when ``timeout_s`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not any(self._in_flight.values()), timeout_s)

    def clear(self) -> None:
        with self._lock:
            self._by: dict[str, dict[str, collections.Counter[str]]] = {}
            self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=self._log_size)

    def record(
        self, provider: str, method: str, path: str, status: int, fault: str | None, auth: bool
    ) -> None:
        with self._lock:
            by = self._by.setdefault(
                provider,
                {k: collections.Counter() for k in ("methods", "statuses", "faults", "auth")},
            )
            # Token and discovery calls are counted apart: tests count the ERP's own traffic.
            by["auth" if auth else "methods"][method] += 1
            by["statuses"][str(status)] += 1
            if fault:
                by["faults"][fault] += 1
            self._log.append(
                {
                    "t": time.time(),
                    "provider": provider,
                    "method": method,
                    "path": path,
                    "status": status,
                    "fault": fault,
                    "auth": auth,
                }
            )

    def snapshot(self, provider: str | None = None) -> dict[str, Any]:
        with self._lock:
            names = [provider] if provider else sorted(self._by)
            out: dict[str, Any] = {}
            for name in names:
                by = self._by.get(name, {})
                methods = dict(by.get("methods", {}))
                out[name] = {
                    "total": sum(methods.values()),
                    "in_flight": self._in_flight[name],
                    "methods": methods,
                    "statuses": dict(by.get("statuses", {})),
                    "auth": sum(by.get("auth", {}).values()),
                    "faults": dict(by.get("faults", {})),
                    "log": [e for e in self._log if e["provider"] == name],
                }
            return out


class FaultMiddleware:
    """Wraps one provider sandbox's app: applies the injector's decision, counts the request."""

    def __init__(
        self, app: ASGIApp, *, provider: str, injector: FaultInjector, stats: RequestStats
    ) -> None:
        self.app = app
        self.provider = provider
        self.injector = injector
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        decision = self.injector.decide(self.provider, method, path)
        status = _StatusRecorder(send)
        self.stats.begin(self.provider)
        try:
            if decision.latency_s:
                await asyncio.sleep(decision.latency_s)
            await self._dispatch(decision, scope, receive, status)
        finally:
            auth = bool(AUTH_PATH.search(path))
            self.stats.record(self.provider, method, path, status.status, decision.fault, auth)
            self.stats.end(self.provider)

    async def _dispatch(
        self, decision: Decision, scope: Scope, receive: Receive, send: _StatusRecorder
    ) -> None:
        if decision.fault == "forbidden":
            await _answer(
                send,
                403,
                {"error": {"code": "Forbidden", "message": "sandbox: no authorisation"}},
            )
        elif decision.fault == "throttle":
            await _answer(
                send,
                429,
                {"error": {"code": "TooManyRequests", "message": "sandbox: throttled"}},
                {"retry-after": _retry_after_header(decision.retry_after)},
            )
        elif decision.fault == "error":
            await _answer(send, self._status(), _error_body("injected fault before the ERP"))
        elif decision.fault == "after_commit":
            await _Capture.run(self.app, scope, receive)  # the write is applied ...
            await _answer(send, self._status(), _error_body("injected fault after commit"))
        elif decision.fault == "drop":
            await self._drop_mid_body(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _status(self) -> int:
        return self.injector.config.error_status

    async def _drop_mid_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        captured = await _Capture.run(self.app, scope, receive)
        body = captured.body
        headers = [(k, v) for k, v in captured.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": captured.status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        # Returning without finishing the body makes the server close the connection: the
        # client sees a response cut short, as when a proxy or the ERP drops it mid-page.


def _retry_after_header(seconds: float) -> bytes:
    text = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return text.encode()


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"code": "SandboxFault", "message": {"lang": "en", "value": message}}}


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, bytes] | None = None
) -> None:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class _StatusRecorder:
    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


class _Capture:
    """Runs an app to completion and keeps its response instead of sending it."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    @classmethod
    async def run(cls, app: ASGIApp, scope: Scope, receive: Receive) -> _Capture:
        captured = cls()

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        await app(scope, receive, send)
        return captured


class DropNoiseFilter(logging.Filter):
    """Hides the server's complaint about the responses we cut short on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()
