"""HTTP failures as our typed errors, with a message an admin can act on.

- ``translate_transport_error``: httpx's exceptions (DNS, refused, TLS and the CA problem,
  timeout, a dropped connection) become ``ERPConfigurationError`` or ``UnavailableError``.
- ``retry_after_seconds``: what a ``Retry-After`` header asks (seconds or an HTTP date).
- ``classify_status``: the generic meaning of an HTTP status (401, 403, 404, 429, 5xx), for
  protocol classifiers to fall back on after reading their ERP's error body.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from plantsync.errors import (
    ConnectorError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    FatalError,
    ThrottledError,
    UnavailableError,
)


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
