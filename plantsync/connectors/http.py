"""HTTP plumbing shared by every connector: the client, retries with backoff, error translation.

- ``build_client``: timeouts and TLS trust from the connection (a CA bundle as PEM, or, loudly
  logged, no verification).
- ``send``: one request with bounded retries (count and total time), exponential backoff with
  full jitter, ``Retry-After`` honoured. Connect errors, 429 and 502/503/504 are retried. A
  non-idempotent request whose answer was lost (read error, timeout or 5xx after sending) is
  *not* re-sent: ``AmbiguousWriteError`` tells the caller to reconcile first.
- ``translate_transport_error``: httpx's exceptions become our typed errors with a message an
  admin can act on (DNS, refused, TLS and the CA problem, timeout).
- ``classify_status``: the generic meaning of an HTTP status (401, 403, 404, 429, 5xx), for
  protocol classifiers to fall back on after reading their ERP's error body.
"""

from __future__ import annotations

import logging
import math
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx
from pydantic import BaseModel

from plantsync.errors import (
    AmbiguousWriteError,
    ConnectorError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    FatalError,
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


def retry_after_seconds(
    response: httpx.Response, *, now: Callable[[], float] = time.time
) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), or None when the
    header is absent or unreadable. A date in the past is 0; a date without zone is UTC."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


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


def translate_transport_error(
    exc: httpx.TransportError, *, provider: str, url: str, entity: str | None = None
) -> ConnectorError:
    """httpx's transport exception as our typed error, with an actionable message.

    TLS problems and unknown host names are ``ERPConfigurationError`` (fix the connection);
    refused connections, timeouts, temporary DNS failures and broken connections are
    ``UnavailableError`` (retriable).
    """
    err = _translate(exc, provider=provider, host=httpx.URL(url).host)
    if entity is None:
        return err
    return type(err)(err.detail, provider=provider, entity=entity)


def _translate(exc: httpx.TransportError, *, provider: str, host: str) -> ConnectorError:
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return UnavailableError(
            f"could not connect to {host} in time: is the host reachable from here (firewall, "
            "VPN, proxy) and is the port in base_url right?",
            provider=provider,
        )
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(exc, host, lowered, provider)
    if isinstance(exc, httpx.TimeoutException):
        what = "answer" if isinstance(exc, httpx.ReadTimeout) else "respond"
        return UnavailableError(
            f"{host} did not {what} in time ({type(exc).__name__}): the ERP is slow or "
            "overloaded; a longer timeout may help",
            provider=provider,
        )
    return UnavailableError(
        f"the connection to {host} broke off ({type(exc).__name__}: {text or 'no detail'})",
        provider=provider,
    )


def _connect_error(
    exc: httpx.ConnectError, host: str, lowered: str, provider: str
) -> ConnectorError:
    if _is_tls(exc, lowered):
        return ERPConfigurationError(
            f"TLS handshake with {host} failed: {_tls_reason(str(exc))}",
            provider=provider,
        )
    if "temporary failure in name resolution" in lowered or "try again" in lowered:
        return UnavailableError(
            f"DNS lookup of {host} failed for now (temporary failure in name resolution): "
            "check the DNS servers of this host and base_url's host name",
            provider=provider,
        )
    if any(
        marker in lowered
        for marker in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "no address associated",
            "name resolution",
        )
    ):
        return ERPConfigurationError(
            f"DNS lookup of {host} failed: no such host; check base_url's host name",
            provider=provider,
        )
    if "refused" in lowered:
        return UnavailableError(
            f"connection to {host} refused: is the ERP up and is the port in base_url right?",
            provider=provider,
        )
    if "unreachable" in lowered:
        return UnavailableError(
            f"{host} is unreachable from here (network or firewall)", provider=provider
        )
    return UnavailableError(f"could not connect to {host}: {exc}", provider=provider)


def _is_tls(exc: BaseException, lowered: str) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return True
        cause = cause.__cause__ or cause.__context__
    return any(m in lowered for m in ("certificate", "ssl", "tls"))


def _tls_reason(text: str) -> str:
    lowered = text.lower()
    if any(
        m in lowered
        for m in ("unable to get local issuer certificate", "self-signed", "self signed")
    ):
        return (
            "the server's certificate is signed by a CA this connection does not trust. If the "
            "ERP uses an internal CA, give the connection that CA's certificate as its CA "
            "bundle (tls.ca_bundle_pem)"
        )
    if (
        "hostname mismatch" in lowered
        or "doesn't match" in lowered
        or "ip address mismatch" in lowered
    ):
        return "the server's certificate does not name this host: check base_url's host name"
    if "expired" in lowered:
        return "the server's certificate has expired: the ERP's administrators must renew it"
    if "not yet valid" in lowered:
        return "the server's certificate is not valid yet: check the clocks of both hosts"
    if (
        "wrong version number" in lowered
        or "record layer failure" in lowered
        or "http request" in lowered
    ):
        return "the server did not speak TLS: is the port in base_url an HTTPS port?"
    return text


def classify_status(
    response: httpx.Response, *, provider: str, entity: str | None = None, detail: str = ""
) -> None:
    """The generic meaning of a response's status: returns for 1xx-3xx, else raises.

    Protocol classifiers call this after reading their ERP's error body (``detail``).

    Raises:
        ERPAuthenticationError (401), ERPPermissionError (403), ERPNotFoundError (404),
        ThrottledError (429, with ``Retry-After``), UnavailableError (500/502/503/504),
        FatalError (any other 4xx/5xx).
    """
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {response.request.url.path}"
    suffix = f": {detail}" if detail else ""
    kind: type[ConnectorError]
    if status == 429:
        raise ThrottledError(
            f"the ERP asked us to slow down (429){suffix}",
            retry_after=retry_after_seconds(response),
            provider=provider,
            entity=entity,
            status=status,
        )
    if status == 401:
        kind, text = ERPAuthenticationError, f"the ERP refused the credentials (401) on {where}"
    elif status == 403:
        kind, text = ERPPermissionError, f"the credentials lack an authorisation (403) for {where}"
    elif status == 404:
        kind, text = ERPNotFoundError, f"{where} does not exist (404)"
    elif status in (500, 502, 503, 504):
        kind, text = UnavailableError, f"{where} answered {status}"
    else:
        kind, text = FatalError, f"{where} answered {status}"
    raise kind(text + suffix, provider=provider, entity=entity, status=status)
