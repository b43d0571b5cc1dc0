"""The Oracle Fusion REST wire protocol (ADF REST framework), without entity knowledge.

- URLs: ``{base_url}/fscmRestApi/resources/{api_version}/{resource}``; a resource written as
  an absolute path (``/crmRestApi/resources/11.13.18.05/PlantDowntime_c``) is taken from
  ``base_url`` as is, for resources published under another REST root.
- Every request carries ``REST-Framework-Version``; the ``q`` filter syntax depends on it
  (``codec.build_q``): version 1 is query-by-example (``A=1;B>2``), version 2 and later take
  expressions (``A = 1 and B > '2026-01-05T10:00:00.000+00:00'``).
- Collections: ``items``/``hasMore``/``limit``/``offset``/``count`` (``totalResults`` on
  request); the server's default page is 25 rows, so ``limit`` is always sent.
- Writes: ``POST`` (create, or create-or-update with ``Upsert-Mode: true``) and ``PATCH``
  (update) with ``application/vnd.oracle.adf.resourceitem+json``; bulk writes ``POST`` to the
  version root with ``application/vnd.oracle.adf.batch+json`` (``batch``), which the
  server applies all-or-none.
- Errors: ``classify_oracle_response`` turns a status into our typed error; the message comes
  from the body, plain text (framework versions below 4) or the JSON error document
  (``title``, ``detail``, ``o:errorDetails``) of version 4 and later.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from plantsync.connectors.http import RetryPolicy, send
from plantsync.connectors.oracle.batch import BatchPart, batch_body, batch_payloads
from plantsync.connectors.oracle.codec import (
    DEFAULT_API_VERSION,
    DEFAULT_FRAMEWORK_VERSION,
    PROVIDER,
    Condition,
    build_q,
    dump_json,
)
from plantsync.connectors.translate import retry_after_seconds
from plantsync.errors import (
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    ERPValidationError,
    ThrottledError,
    UnavailableError,
)

MAX_LIMIT = 500  # Fusion caps a page at 500 rows
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
_MAX_MESSAGE = 600


def classify_oracle_response(response: httpx.Response) -> None:
    """Raise the typed error an Oracle REST response stands for; return for a success.

    Raises:
        ERPAuthenticationError (401), ERPPermissionError (403), ERPNotFoundError (404),
        ThrottledError (429, with ``Retry-After``), UnavailableError (500/502/503/504),
        ERPValidationError (400, 409, 412, 422: the ERP refused the values),
        ERPConfigurationError (any other 4xx: the request itself is wrong for this server).
    """
    status = response.status_code
    if status < 400:
        return
    detail = oracle_error_message(response)
    where = f"{response.request.method} {response.request.url.path}"
    ctx: dict[str, Any] = {"provider": PROVIDER, "status": status}
    if status == 401:
        raise ERPAuthenticationError(f"Oracle refused the credentials (401) for {where}", **ctx)
    if status == 403:
        raise ERPPermissionError(
            f"Oracle denied {where} (403): the user lacks a privilege{_suffix(detail)}", **ctx
        )
    if status == 404:
        raise ERPNotFoundError(f"Oracle has no {response.request.url.path} (404)", **ctx)
    if status == 429:
        raise ThrottledError(
            f"Oracle is throttling requests (429){_suffix(detail)}",
            retry_after=retry_after_seconds(response),
            **ctx,
        )
    if status >= 500:
        raise UnavailableError(f"Oracle answered {status} to {where}{_suffix(detail)}", **ctx)
    if status in (400, 409, 412, 422):
        raise ERPValidationError(detail or f"Oracle refused {where} ({status})", **ctx)
    raise ERPConfigurationError(f"Oracle refused {where} ({status}){_suffix(detail)}", **ctx)


def _suffix(detail: str) -> str:
    return f": {detail}" if detail else ""


def oracle_error_message(response: httpx.Response) -> str:
    """The human message of an Oracle error body (JSON error document, batch parts or text)."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if body is None:
        return _clip(_strip_html(text))
    return _clip("; ".join(_messages(body)) or _strip_html(text))


def _messages(body: Any) -> list[str]:
    """Messages from an error document, a batch answer (its failed parts) or a list of them."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, list):
        return [m for item in body for m in _messages(item)]
    if not isinstance(body, Mapping):
        return []
    if isinstance(body.get("parts"), list):
        out: list[str] = []
        for part in body["parts"]:
            if isinstance(part, Mapping):
                err = part.get("exception") or part.get("payload")
                out += [f"part {part.get('id')}: {m}" for m in _messages(err)]
        return out
    details = body.get("o:errorDetails")
    if isinstance(details, list) and details:
        return [_detail(d) for d in details if isinstance(d, Mapping)]
    for key in ("detail", "title", "message"):
        if isinstance(body.get(key), str) and body[key]:
            return [str(body[key])]
    return []


def _detail(d: Mapping[str, Any]) -> str:
    text = str(d.get("detail") or d.get("title") or "")
    code = d.get("o:errorCode")
    return f"{text} ({code})" if code else text


def _strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def load_json(response: httpx.Response) -> Any:
    """The body as JSON with exact decimals; a non-JSON success is an ``UnavailableError``."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise UnavailableError(
            f"Oracle answered {response.request.url.path} with a body that is not JSON",
            provider=PROVIDER,
            status=response.status_code,
        ) from None


# -- the client ----------------------------------------------------------------------------


class OracleClient:
    """Sends Oracle REST requests through ``send`` (retries, Retry-After, ambiguous writes).

    Args:
        http: the connection's client (carrying auth and TLS).
        base_url: the pod's URL (``https://xxxx.fa.ocs.oraclecloud.com``).
        api_version: the resource version in the path.
        framework_version: the ``REST-Framework-Version`` header (and ``q`` syntax).
        policy: retry policy; ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        api_version: str = DEFAULT_API_VERSION,
        framework_version: int = DEFAULT_FRAMEWORK_VERSION,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.root = f"{self.base_url}/fscmRestApi/resources/{api_version}"
        self.framework_version = framework_version
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    def resource_url(self, resource: str, key: str | None = None) -> str:
        url = self.base_url + resource if resource.startswith("/") else f"{self.root}/{resource}"
        return f"{url}/{quote(key, safe='')}" if key else url

    def q(self, conditions: Sequence[Condition]) -> str:
        return build_q(conditions, self.framework_version)

    def get_collection(
        self,
        resource: str,
        params: Mapping[str, str],
        *,
        entity: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """One page of a collection (the caller sets ``limit``/``offset``/``q``...)."""
        request = self._request("GET", self.resource_url(resource), params=params)
        body = load_json(self._send(request, idempotent=True, entity=entity, policy=policy))
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise UnavailableError(
                f"Oracle answered {request.url.path} without an items array",
                provider=PROVIDER,
                entity=entity,
            )
        return body

    def create(
        self,
        resource: str,
        payload: Mapping[str, Any],
        *,
        upsert: bool = False,
        entity: str | None = None,
    ) -> dict[str, Any]:
        """POST one item; ``upsert`` sends ``Upsert-Mode: true`` (idempotent by its key)."""
        headers = {"Content-Type": ITEM_TYPE}
        if upsert:
            headers["Upsert-Mode"] = "true"
        request = self._request("POST", self.resource_url(resource), body=payload, headers=headers)
        return self._item(self._send(request, idempotent=upsert, entity=entity))

    def update(
        self, resource: str, key: str, payload: Mapping[str, Any], *, entity: str | None = None
    ) -> dict[str, Any]:
        """PATCH one item (idempotent: the same values twice give the same item)."""
        request = self._request(
            "PATCH",
            self.resource_url(resource, key),
            body=payload,
            headers={"Content-Type": ITEM_TYPE},
        )
        return self._item(self._send(request, idempotent=True, entity=entity))

    def batch(
        self, parts: Sequence[BatchPart], *, idempotent: bool = False, entity: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """POST a batch (applied all-or-none); each part's answered payload by part id.

        Raises:
            ERPValidationError: the server refused the batch (nothing was applied).
        """
        request = self._request(
            "POST", self.root, body=batch_body(parts), headers={"Content-Type": BATCH_TYPE}
        )
        answer = load_json(self._send(request, idempotent=idempotent, entity=entity))
        return batch_payloads(answer, parts)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        all_headers = {
            "Accept": "application/json",
            "REST-Framework-Version": str(self.framework_version),
        }
        all_headers.update(headers or {})
        content = dump_json(body) if body is not None else None
        return self.http.build_request(
            method, url, params=params, content=content, headers=all_headers
        )

    def _send(
        self,
        request: httpx.Request,
        *,
        idempotent: bool,
        entity: str | None,
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        return send(
            self.http,
            request,
            classify=classify_oracle_response,
            policy=policy or self.policy,
            idempotent=idempotent,
            provider=PROVIDER,
            entity=entity,
            sleep=self.sleep,
        )

    @staticmethod
    def _item(response: httpx.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        body = load_json(response)
        return body if isinstance(body, dict) else {}
