"""HTTP plumbing shared by every connector: the client, retries with backoff, error translation.

- ``build_client``: timeouts and TLS trust from the connection (a CA bundle as PEM, or, loudly
  logged, no verification).
- ``send``: one request with bounded retries (count and total time), exponential backoff with
  full jitter, ``Retry-After`` honoured. Connect errors, 429 and 502/503/504 are retried. A
  non-idempotent request whose answer was lost (read error, timeout or 5xx after sending) is
  *not* re-sent: ``AmbiguousWriteError`` tells the caller to reconcile first.
- ``translate.py`` turns httpx's exceptions and generic HTTP statuses into our typed errors.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pydantic import BaseModel

from plantsync.connectors.translate import retry_after_seconds, translate_transport_error
from plantsync.errors import (
    AmbiguousWriteError,
    ERPConfigurationError,
    RetriableError,
    ThrottledError,
    UnavailableError,
)

log = logging.getLogger(__name__)

Classifier = Callable[[httpx.Response], None]
"""Raises the typed error a response stands for; returns for a success."""


# Transport errors raised before the request left us: safe to re-send even a write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard ``send`` tries: at most ``max_attempts`` attempts (the first included) within
    ``max_total_s`` seconds; between them full-jitter exponential backoff capped at
    ``max_delay_s``, or exactly what the ERP's ``Retry-After`` asks."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_total_s: float = 120.0

    def backoff(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based):
        uniform in ``[0, min(max_delay_s, base_delay_s * 2**(attempt-1))]``."""
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0, cap)


class TLSConfig(BaseModel):
    """TLS trust for one connection: a CA bundle (PEM) for internal CAs, or no verification."""

    ca_bundle_pem: str | None = None
    verify: bool = True


def build_client(
    base_url: str,
    *,
    tls: TLSConfig,
    timeout_s: float,
    auth: httpx.Auth | None = None,
    provider: str = "",
    connection: str = "",
) -> httpx.Client:
    """An ``httpx.Client`` for one ERP: base URL, timeouts, TLS trust, optional auth.

    ``provider`` and ``connection`` only name the connection in the warning logged when TLS
    verification is off and in a bad CA bundle's error.
    """
    return httpx.Client(
        base_url=base_url.rstrip("/") + "/",
        timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        verify=ssl_context(
            tls.ca_bundle_pem, verify=tls.verify, provider=provider, connection=connection
        ),
        auth=auth,
        follow_redirects=False,
    )


def ssl_context(
    ca_bundle_pem: str | None, *, verify: bool = True, provider: str = "", connection: str = ""
) -> ssl.SSLContext | bool:
    """The TLS trust: system CAs plus the bundle, or False when disabled — logged as a warning
    each time a client is built (so once per run and per connection test)."""
    if not verify:
        log.warning(
            "TLS verification is DISABLED for %s connection %s: use this only for test systems "
            "and give the connection the ERP's CA bundle (tls.ca_bundle_pem) instead",
            provider or "an ERP",
            connection or "(unsaved)",
        )
        return False
    ctx = ssl.create_default_context()
    if ca_bundle_pem:
        try:
            ctx.load_verify_locations(cadata=ca_bundle_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise ERPConfigurationError(
                "tls.ca_bundle_pem is not a readable PEM bundle of CA certificates "
                f"({type(exc).__name__})",
                provider=provider or None,
            ) from None
    return ctx


def send(
    client: httpx.Client,
    request: httpx.Request,
    *,
    classify: Classifier,
    policy: RetryPolicy,
    idempotent: bool,
    provider: str,
    entity: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send ``request`` with bounded retries; the response of a success, else a typed error.

    Raises:
        ThrottledError / UnavailableError: still failing when the attempts or time ran out.
        AmbiguousWriteError: a non-idempotent request may have been applied; not re-sent.
        FatalError / RecordError: from ``classify`` (not retried).
    """
    budget = _Budget(policy, sleep)
    attempt = 0
    while True:
        attempt += 1
        try:
            response = _send_once(client, request)
        except httpx.TransportError as exc:
            err = translate_transport_error(
                exc, provider=provider, url=str(request.url), entity=entity
            )
            if not idempotent and not isinstance(exc, _NOT_SENT):
                raise AmbiguousWriteError(
                    f"the answer to {request.method} {request.url.path} was lost ({err.detail}); "
                    "it may have been applied",
                    provider=provider,
                    entity=entity,
                ) from exc
            if not isinstance(err, RetriableError):
                raise err from exc
            budget.wait_or_raise(err, attempt, None)
            continue
        try:
            classify(response)
            return response
        except ThrottledError as err:
            if err.retry_after is None:
                err.retry_after = retry_after_seconds(response)
            budget.wait_or_raise(err, attempt, err.retry_after)
        except UnavailableError as err:
            if not idempotent:
                raise AmbiguousWriteError(
                    f"{request.method} {request.url.path} answered {response.status_code}; "
                    "it may have been applied",
                    provider=provider,
                    entity=entity,
                    status=response.status_code,
                ) from err
            budget.wait_or_raise(err, attempt, retry_after_seconds(response))


def _send_once(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """One exchange, body read in full (a connection dropped mid-body raises here)."""
    response = client.send(request, stream=True)
    try:
        response.read()
    finally:
        response.close()
    return response


class _Budget:
    """One ``send``'s retry budget. Time spent counts the waits as asked, so an injected
    ``sleep`` (tests) is accounted exactly like a real one."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None]) -> None:
        self.policy = policy
        self.sleep = sleep
        self.started = time.monotonic()
        self.unslept = 0.0  # waits asked for minus the time they really took

    def elapsed(self) -> float:
        return time.monotonic() - self.started + self.unslept

    def wait_or_raise(self, err: RetriableError, attempt: int, retry_after: float | None) -> None:
        """Sleep before the next attempt, or raise ``err`` when the attempts or time are spent.

        ``Retry-After`` is honoured as given (never shortened); if it would overrun the time
        budget we give up at once rather than hammer the ERP before it asked.
        """
        policy = self.policy
        delay = retry_after if retry_after is not None else policy.backoff(attempt)
        if attempt >= policy.max_attempts or self.elapsed() + delay > policy.max_total_s:
            raise err
        log.info("retrying after %.2fs (attempt %d): %s", delay, attempt, err.detail)
        before = time.monotonic()
        self.sleep(delay)
        self.unslept += max(0.0, delay - (time.monotonic() - before))
