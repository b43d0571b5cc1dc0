"""The Dataverse Web API v9.2 wire protocol: URLs, headers, ``Prefer``, errors, and
``DataverseClient``, which sends requests with retries and error classification.

One function classifies a response (``classify_dataverse_response``): Dataverse errors carry
``{"error": {"code": "0x...", "message": "..."}}``; service protection answers 429 with
``Retry-After`` (limits are counted per 5-minute window).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from plantsync.connectors.dynamics.codec import FORMATTED_VALUE, PROVIDER
from plantsync.connectors.http import RetryPolicy, send
from plantsync.connectors.translate import retry_after_seconds
from plantsync.entities import EntityType
from plantsync.errors import (
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    ERPValidationError,
    ThrottledError,
    UnavailableError,
)

API_PATH = "api/data/v9.2/"
MAX_PAGE_SIZE = 5000  # Dataverse's ceiling for odata.maxpagesize
MAX_BATCH_REQUESTS = 1000  # requests per $batch
ODATA_HEADERS: Mapping[str, str] = {
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "Accept": "application/json",
}
# ExpiredVersionStamp: the delta token is older than the organisation keeps changes for.
EXPIRED_DELTA_CODES = frozenset({"0x80044352", "-2147204270"})


def api_root(base_url: str) -> str:
    """``{base_url}/api/data/v9.2/`` (the Web API service root)."""
    return base_url.rstrip("/") + "/" + API_PATH


def prefer(
    *,
    max_page_size: int | None = None,
    track_changes: bool = False,
    annotations: bool = False,
    return_representation: bool = False,
    continue_on_error: bool = False,
) -> str:
    """One ``Prefer`` header value with the given preferences (comma-separated)."""
    items: list[str] = []
    if track_changes:
        items.append("odata.track-changes")
    if max_page_size is not None:
        items.append(f"odata.maxpagesize={max(1, min(MAX_PAGE_SIZE, max_page_size))}")
    if annotations:
        items.append(f'odata.include-annotations="{FORMATTED_VALUE}"')
    if return_representation:
        items.append("return=representation")
    if continue_on_error:
        items.append("odata.continue-on-error")
    return ",".join(items)


@dataclass(frozen=True)
class DataverseError:
    """A Dataverse error body: ``error.code`` (``0x8004...``) and ``error.message``."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def parse_error(status: int, body: bytes | str) -> DataverseError:
    """The ``error.code``/``error.message`` of a Dataverse error body (any text tolerated)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
        err = data.get("error", {}) if isinstance(data, dict) else {}
        code = str(err.get("code") or "")
        raw = err.get("message") or ""
        # OData v2-style bodies (gateways in front of Dataverse) nest the text in "value".
        message = str(raw.get("value", "") if isinstance(raw, dict) else raw).strip()
    except ValueError:
        code, message = "", ""
    if not message:
        message = " ".join(text.split())[:300] or f"HTTP {status}"
    return DataverseError(status, code, message[:1000])


class DataverseRefusedError(ERPValidationError):
    """A 4xx (other than 401/403/404/429): the request's values or query were refused.

    ``error`` keeps Dataverse's code and message for code-specific handling (an expired
    delta token, a table without change tracking).
    """

    def __init__(self, error: DataverseError, detail: str, **context: Any) -> None:
        self.error = error
        super().__init__(detail, **context)


def classify_dataverse_response(response: httpx.Response) -> None:
    """Raise the typed error a Dataverse response stands for; return for a success.

    Raises:
        ThrottledError: 429 (service protection), with ``Retry-After`` seconds.
        UnavailableError: 5xx.
        ERPAuthenticationError / ERPPermissionError / ERPNotFoundError: 401 / 403 / 404.
        DataverseRefusedError: any other 4xx (the request's values or query were refused).
    """
    status = response.status_code
    if status < 400:
        return
    err = parse_error(status, response.content)
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request (tests)
        path = "?"
    ctx: dict[str, Any] = {"provider": PROVIDER, "status": status}
    if status == 429:
        raise ThrottledError(
            f"Dataverse service protection limit reached ({err})",
            retry_after=retry_after_seconds(response),
            **ctx,
        )
    if status >= 500:
        raise UnavailableError(f"Dataverse answered {status} for {path} ({err})", **ctx)
    if status == 401:
        raise ERPAuthenticationError(
            f"Dataverse refused the access token for {path} (401): is the app registered as "
            "an application user in this environment?",
            **ctx,
        )
    if status == 403:
        raise ERPPermissionError(
            f"the application user lacks a privilege for {path} (403: {err}): "
            "check its security roles",
            **ctx,
        )
    if status == 404:
        raise ERPNotFoundError(f"{path} was not found (404: {err})", **ctx)
    raise DataverseRefusedError(err, f"Dataverse refused the request ({status} {err})", **ctx)


def is_expired_delta(err: DataverseError) -> bool:
    """An expired or unusable delta token: the caller must start over with a full pull."""
    if err.status == 410 or err.code in EXPIRED_DELTA_CODES:
        return True
    text = err.message.lower()
    return "version stamp" in text or ("delta" in text and "token" in text)


def is_change_tracking_off(err: DataverseError) -> bool:
    """The table does not have change tracking enabled."""
    text = err.message.lower()
    return "change tracking" in text or "changetracking" in text


class DataverseClient:
    """One connection's conversation with the Dataverse Web API: GETs with OData headers,
    retries and error classification; the service root every URL starts from.

    Args:
        http: the connection's client (carrying the OAuth2 auth and TLS trust).
        base_url: the environment URL (``https://org.crm.dynamics.com``).
        policy: the retry policy; ``sleep`` is how retries wait (tests pass a recorder).
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.root = api_root(base_url)
        self.policy = policy
        self.sleep = sleep

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        prefer_value: str | None = None,
        entity: EntityType | None = None,
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        """GET with OData headers, retries and Dataverse error classification."""
        headers = dict(ODATA_HEADERS)
        if prefer_value:
            headers["Prefer"] = prefer_value
        request = self.http.build_request("GET", url, params=params, headers=headers)
        return self.send(request, idempotent=True, entity=entity, policy=policy)

    def get_object(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        prefer_value: str | None = None,
        entity: EntityType | None = None,
    ) -> dict[str, Any]:
        """GET a JSON object (a collection page or a row).

        Raises:
            ERPConfigurationError: the answer is not a JSON object.
        """
        response = self.get(url, params=params, prefer_value=prefer_value, entity=entity)
        body = response.json()
        if not isinstance(body, dict):
            raise ERPConfigurationError(f"{url} did not answer a JSON object", provider=PROVIDER)
        return body

    def send(
        self,
        request: httpx.Request,
        *,
        idempotent: bool,
        entity: EntityType | None = None,
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        """Send ``request`` through ``http.send`` (retries; ambiguous writes reported)."""
        return send(
            self.http,
            request,
            classify=classify_dataverse_response,
            policy=policy or self.policy,
            idempotent=idempotent,
            provider=PROVIDER,
            entity=entity.value if entity else None,
            sleep=self.sleep,
        )
