"""HTTP plumbing shared by every connector: the client, retries with backoff, error translation.

- ``build_client``: timeouts and TLS trust from the connection (a CA bundle as PEM, or, loudly
  logged, no verification).
- ``send``: one request with bounded retries (count and total time), exponential backoff with
  full jitter, ``Retry-After`` honoured. Connect errors, 429 and 502/503/504 are retried. A
  non-idempotent request whose answer was lost (read error, timeout or 5xx after sending) is
  *not* re-sent: ``AmbiguousWriteError`` tells the caller to reconcile first.
- ``translate_transport_error``: httpx's exceptions become our typed errors with a message an
  admin can act on (DNS, refused, TLS and the CA problem, timeout).
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx

from plantsync.errors import (
    AmbiguousWriteError,
    ConnectorError,
    ERPConfigurationError,
    RetriableError,
    ThrottledError,
    UnavailableError,
)

if TYPE_CHECKING:
    from plantsync.connectors.base import ConnectorConfig

log = logging.getLogger(__name__)

Classifier = Callable[[httpx.Response], None]
"""Raises the typed error a response stands for; returns for a success."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_total_s: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography


def build_client(config: ConnectorConfig, *, auth: httpx.Auth | None = None) -> httpx.Client:
    """An ``httpx.Client`` for the connection: base URL, timeouts, TLS trust, optional auth."""
    return httpx.Client(
        base_url=config.base_url.rstrip("/") + "/",
        timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
        verify=ssl_context(
            config.tls.ca_bundle_pem, verify=config.tls.verify, provider=config.provider
        ),
        auth=auth,
        follow_redirects=False,
    )


def ssl_context(
    ca_bundle_pem: str | None, *, verify: bool = True, provider: str = ""
) -> ssl.SSLContext | bool:
    """The TLS trust: system CAs plus the bundle, or False (logged as a warning) when disabled."""
    if not verify:
        log.warning(
            "TLS verification is DISABLED for a %s connection: use this only for test systems",
            provider or "ERP",
        )
        return False
    ctx = ssl.create_default_context()
    if ca_bundle_pem:
        ctx.load_verify_locations(cadata=ca_bundle_pem)
    return ctx


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.send(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.TransportError as exc:
            err = translate_transport_error(exc, provider=provider, url=str(request.url))
            if not idempotent and not isinstance(exc, httpx.ConnectError):
                raise AmbiguousWriteError(
                    f"the answer to {request.method} {request.url.path} was lost ({err.detail}); "
                    "it may have been applied",
                    provider=provider,
                    entity=entity,
                ) from exc
            if not isinstance(err, RetriableError):
                raise err from exc
            _wait_or_raise(err, attempt, started, policy, sleep, None)
            continue
        try:
            classify(response)
            return response
        except ThrottledError as err:
            _wait_or_raise(err, attempt, started, policy, sleep, err.retry_after)
        except UnavailableError as err:
            if not idempotent:
                raise AmbiguousWriteError(
                    f"{request.method} {request.url.path} answered {response.status_code}; "
                    "it may have been applied",
                    provider=provider,
                    entity=entity,
                    status=response.status_code,
                ) from err
            _wait_or_raise(err, attempt, started, policy, sleep, retry_after_seconds(response))


def _wait_or_raise(
    err: RetriableError,
    attempt: int,
    started: float,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    retry_after: float | None,
) -> None:
    delay = retry_after if retry_after is not None else policy.backoff(attempt)
    elapsed = time.monotonic() - started
    if attempt >= policy.max_attempts or elapsed + delay > policy.max_total_s:
        raise err
    log.info("retrying after %.2fs (attempt %d): %s", delay, attempt, err.detail)
    sleep(delay)


def translate_transport_error(
    exc: httpx.TransportError, *, provider: str, url: str
) -> ConnectorError:
    """httpx's transport exception as our typed error, with an actionable message."""
    host = httpx.URL(url).host
    text = str(exc)
    if isinstance(exc, httpx.ConnectError):
        lowered = text.lower()
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            return ERPConfigurationError(
                f"TLS handshake with {host} failed: {_tls_reason(text)}. If the ERP uses an "
                "internal CA, give the connection its CA bundle (tls.ca_bundle_pem / --ca-bundle)",
                provider=provider,
            )
        if (
            "name or service not known" in lowered
            or "nodename nor servname" in lowered
            or ("temporary failure in name resolution" in lowered)
            or "getaddrinfo" in lowered
            or "no address associated" in lowered
        ):
            return ERPConfigurationError(
                f"DNS lookup of {host} failed: check base_url's host name", provider=provider
            )
        if "refused" in lowered:
            return UnavailableError(
                f"connection to {host} refused: is the ERP up and is the port in base_url right?",
                provider=provider,
            )
        return UnavailableError(f"could not connect to {host}: {text}", provider=provider)
    if isinstance(exc, httpx.TimeoutException):
        return UnavailableError(
            f"{host} did not answer in time ({type(exc).__name__})", provider=provider
        )
    return UnavailableError(
        f"the connection to {host} broke off ({type(exc).__name__})", provider=provider
    )


def _tls_reason(text: str) -> str:
    if (
        "unable to get local issuer certificate" in text
        or "self-signed" in text
        or ("self signed" in text)
    ):
        return "the server's certificate is signed by a CA this connection does not trust"
    if "hostname mismatch" in text or "doesn't match" in text:
        return "the certificate does not name this host"
    if "expired" in text:
        return "the server's certificate has expired"
    return text
