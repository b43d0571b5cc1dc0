"""The SAP Gateway (OData V2) wire protocol: URLs, auth, CSRF, paging, ``$batch``, errors.

- Service root ``{base_url}/sap/opu/odata/sap/{SERVICE}/``; basic auth and ``sap-client`` come
  from the client's ``SapAuth`` (``auth.py``).
- CSRF: one token per session. The Gateway checks it against the session's cookies (the
  security session, or the ``sap-XSRF_<SID>_<client>`` cookie), not per service, so the token
  is asked for with the first ``$metadata`` read (``x-csrf-token: Fetch``, as SAPUI5 does) and
  used for every modifying request and ``$batch`` of the connection; only when none arrived is
  it fetched from the service document. When the server answers 403 "CSRF token validation
  failed" (the session expired), it is fetched again and the request retried once.
- Paging: ``__next`` (server-driven, ``$skiptoken``) followed to the end, else ``$top``/``$skip``;
  the rows read are checked against ``$inlinecount`` so a silently truncated pull fails loudly.
- ``classify_sap_response``: one function turns an answer into our typed errors, with SAP's own
  message (``error.message.value``, the ``sap-message`` header) in the text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from plantsync.connectors.http import RetryPolicy, send
from plantsync.connectors.pagination import ODataV2NextPaginator
from plantsync.connectors.sap.batch import BatchRequest, BatchResponse, build_batch, parse_batch
from plantsync.connectors.sap.codec import sap_error_message
from plantsync.connectors.sap.metadata import ServiceModel, parse_metadata
from plantsync.connectors.translate import retry_after_seconds
from plantsync.errors import (
    ERPAuthenticationError,
    ERPNotFoundError,
    ERPPermissionError,
    ERPValidationError,
    FatalError,
    ThrottledError,
    UnavailableError,
)

log = logging.getLogger(__name__)
SERVICE_ROOT = "sap/opu/odata/sap"
_CSRF_FAILED = "csrf token validation failed"


class CsrfTokenError(ERPPermissionError):
    """403: the CSRF token is missing or expired (fetch a new one and retry once)."""


def classify_sap_response(response: httpx.Response, *, entity: str | None = None) -> None:
    """Raise the typed error a SAP Gateway answer stands for; return for a success.

    Raises:
        ERPAuthenticationError (401), CsrfTokenError / ERPPermissionError (403),
        ERPNotFoundError (404), ThrottledError (429), UnavailableError (500, 502-504),
        ERPValidationError (other 4xx: the record's values), FatalError (anything else).
    """
    status = response.status_code
    if status < 400:
        return
    ctx: dict[str, Any] = {"provider": "sap", "entity": entity, "status": status}
    if status == 401:
        raise ERPAuthenticationError("SAP rejected the user name or password (401)", **ctx)
    if status == 403:
        if (
            response.headers.get("x-csrf-token", "").lower() == "required"
            or _CSRF_FAILED in response.text.lower()
        ):
            raise CsrfTokenError("CSRF token validation failed (403)", **ctx)
        raise ERPPermissionError(
            f"the SAP user lacks an authorisation (403): {sap_error_message(response)}", **ctx
        )
    if status == 404:
        raise ERPNotFoundError(
            f"{response.request.url.path} was not found (404): {sap_error_message(response)}",
            **ctx,
        )
    if status == 429:
        raise ThrottledError(
            "SAP asked us to slow down (429)", retry_after=retry_after_seconds(response), **ctx
        )
    if status in (500, 502, 503, 504):
        raise UnavailableError(f"SAP answered {status}: {sap_error_message(response)}", **ctx)
    if 400 <= status < 500:
        raise ERPValidationError(f"SAP refused it ({status}): {sap_error_message(response)}", **ctx)
    raise FatalError(f"SAP answered {status}: {sap_error_message(response)}", **ctx)


class SapClient:
    """One connection's conversation with a SAP Gateway (services, metadata, CSRF tokens)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        policy: RetryPolicy,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Args:
        http: the connection's client, carrying ``SapAuth`` (credentials, ``sap-client``).
        base_url: the Gateway's URL; services live under ``/sap/opu/odata/sap/``.
        policy: the retry policy; ``page_size`` rows are asked for per page.
        sleep: how retries wait (tests pass a recorder).
        """
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.page_size = page_size
        self._sleep = sleep
        self._csrf: str | None = None  # one per session, for every service
        self._models: dict[str, ServiceModel] = {}

    # --- URLs and plain requests -----------------------------------------------------------

    def service_url(self, service: str) -> str:
        return f"{self.base_url}/{SERVICE_ROOT}/{service}/"

    def service_path(self, service: str) -> str:
        return httpx.URL(self.service_url(service)).path

    def _request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Request:
        target = httpx.URL(str(url))
        all_headers = {"Accept": "application/json", **(headers or {})}
        if params:
            # httpx's ``params=`` would replace a query the URL already has (a __next link)
            target = target.copy_merge_params(dict(params))
        return self.http.build_request(method, target, headers=all_headers, content=content)

    def get(
        self,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        entity: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> httpx.Response:
        """A GET with retries; raises the typed error of a failed answer."""
        request = self._request("GET", url, params=params, headers=headers)
        return send(
            self.http,
            request,
            classify=lambda r: classify_sap_response(r, entity=entity),
            policy=policy or self.policy,
            idempotent=True,
            provider="sap",
            entity=entity,
            sleep=self._sleep,
        )

    def metadata(self, service: str) -> ServiceModel:
        """The service's ``$metadata`` model, fetched once per client and parsed once.

        The read also asks for the session's CSRF token (kept when the server sends one), so
        a push needs no separate token request.
        """
        model = self._models.get(service)
        if model is None:
            headers = {"Accept": "application/xml"}
            if self._csrf is None:
                headers["x-csrf-token"] = "Fetch"
            response = self.get(self.service_url(service) + "$metadata", headers=headers)
            self._remember_csrf(response)
            model = self.remember_metadata(service, response.content)
        return model

    def has_metadata(self, service: str) -> bool:
        return service in self._models

    def remember_metadata(self, service: str, xml: bytes) -> ServiceModel:
        """Parse and keep a service's ``$metadata`` (fetched by the caller)."""
        model = parse_metadata(xml, service=service)
        self._models[service] = model
        return model

    # --- CSRF and writes -------------------------------------------------------------------

    def csrf_token(self, service: str, *, refresh: bool = False) -> str:
        """The session's CSRF token; fetched (``x-csrf-token: Fetch`` on ``service``'s
        document) when none is held or ``refresh`` asks for a new one."""
        if refresh or self._csrf is None:
            response = self.get(self.service_url(service), headers={"x-csrf-token": "Fetch"})
            self._csrf = response.headers.get("x-csrf-token", "")
        return self._csrf

    def _remember_csrf(self, response: httpx.Response) -> None:
        token = response.headers.get("x-csrf-token", "")
        if self._csrf is None and token and token.lower() != "required":
            self._csrf = token

    def write(
        self,
        service: str,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        entity: str | None = None,
    ) -> httpx.Response:
        """A modifying request (never re-sent when its answer is lost) with a CSRF token."""
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        return self._with_csrf(
            service,
            lambda token: self._request(
                method,
                self.service_url(service) + path,
                params=params,
                headers={**headers, "x-csrf-token": token},
                content=content,
            ),
            entity=entity,
        )

    def _with_csrf(
        self,
        service: str,
        build: Callable[[str], httpx.Request],
        *,
        entity: str | None,
        classify: Callable[[httpx.Response], None] | None = None,
    ) -> httpx.Response:
        check = classify or (lambda r: classify_sap_response(r, entity=entity))
        for attempt in (1, 2):
            token = self.csrf_token(service, refresh=attempt == 2)
            try:
                return send(
                    self.http,
                    build(token),
                    classify=check,
                    policy=self.policy,
                    idempotent=False,
                    provider="sap",
                    entity=entity,
                    sleep=self._sleep,
                )
            except CsrfTokenError:
                if attempt == 2:
                    raise
                log.info("SAP rejected the CSRF token of %s; fetching a new one", service)
        raise AssertionError("unreachable")  # pragma: no cover

    def batch(
        self,
        service: str,
        changesets: Sequence[Sequence[BatchRequest]],
        *,
        entity: str | None = None,
    ) -> list[list[BatchResponse]]:
        """Send ``changesets`` as one ``$batch``; one list of responses per changeset."""
        content_type, body = build_batch(changesets)

        def classify(response: httpx.Response) -> None:
            classify_sap_response(response, entity=entity)
            if response.status_code != 202 and not response.headers.get(
                "content-type", ""
            ).startswith("multipart/mixed"):
                raise UnavailableError(
                    f"$batch answered {response.status_code} without a multipart body",
                    provider="sap",
                    entity=entity,
                )

        response = self._with_csrf(
            service,
            lambda token: self._request(
                "POST",
                self.service_url(service) + "$batch",
                headers={"Content-Type": content_type, "x-csrf-token": token},
                content=body,
            ),
            entity=entity,
            classify=classify,
        )
        return parse_batch(
            response.headers.get("content-type", ""), response.content, expected=len(changesets)
        )

    # --- reading collections -------------------------------------------------------------

    def iter_collection(
        self,
        service: str,
        entity_set: str,
        params: Mapping[str, str],
        *,
        entity: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows of ``entity_set`` page by page, following ``__next`` to the end.

        Raises:
            UnavailableError: fewer rows arrived than the server's ``$inlinecount`` said
                (a truncated pull), or an answer was not OData JSON.
        """
        base = self.service_url(service) + entity_set
        size = self.page_size
        first = {"$format": "json", "$inlinecount": "allpages", "$top": str(size), **params}
        paginator = ODataV2NextPaginator()  # __next only; $top/$skip windows are ours
        url: str | httpx.URL = base
        query: dict[str, str] = first
        total: int | None = None
        seen = window = 0
        while True:
            body = self._json(self.get(url, params=query, entity=entity), entity=entity)
            rows = _rows(body)
            total = _count(body) if total is None else total
            seen += len(rows)
            window += len(rows)
            if rows:
                yield rows
            nxt = paginator.next_page(body, page_len=len(rows))
            if nxt is not None and nxt.url:
                url, query = httpx.URL(self.service_url(service)).join(nxt.url), {}
                continue
            if window < size:
                break  # a short window: the collection ends here
            # the server stopped at our $top: the next window by $skip
            url, window = base, 0
            query = {k: v for k, v in first.items() if k != "$inlinecount"}
            query["$skip"] = str(seen)
        if total is not None and seen < total:
            raise UnavailableError(
                f"{entity_set}: the server announced {total} rows but sent {seen}; "
                "the pull is incomplete and was not accepted",
                provider="sap",
                entity=entity,
            )

    def _json(self, response: httpx.Response, *, entity: str | None) -> Mapping[str, Any]:
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise UnavailableError(
                f"SAP answered {response.request.url.path} with {kind}, not OData JSON "
                "(a login page or a proxy in between?)",
                provider="sap",
                entity=entity,
            ) from None
        if not isinstance(body, Mapping):
            raise UnavailableError("SAP answered with unexpected JSON", provider="sap")
        return body


def _rows(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    d = body.get("d", body)
    if isinstance(d, list):
        return [r for r in d if isinstance(r, dict)]
    results = d.get("results", []) if isinstance(d, Mapping) else []
    return [r for r in results if isinstance(r, dict)]


def _count(body: Mapping[str, Any]) -> int | None:
    d = body.get("d", body)
    raw = d.get("__count") if isinstance(d, Mapping) else None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
