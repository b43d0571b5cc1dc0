"""http.py: retries bounded in count and time, Retry-After, jitter, lost writes, translation."""

from __future__ import annotations

import random
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from plantsync.connectors.http import RetryPolicy, send, ssl_context
from plantsync.connectors.translate import (
    classify_status,
    retry_after_seconds,
    translate_transport_error,
)
from plantsync.errors import (
    AmbiguousWriteError,
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    FatalError,
    ThrottledError,
    UnavailableError,
)

URL = "https://erp.example.test/api/items"


def classify(response: httpx.Response) -> None:
    classify_status(response, provider="test", entity="machine")


class Script:
    """A transport answering from a list: responses or exceptions, one per request."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def run(script: Script, *, method: str = "GET", idempotent: bool = True, policy=None):
    sleeps: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(script))
    with client:
        request = client.build_request(method, URL, json={"a": 1} if method != "GET" else None)
        try:
            response = send(
                client,
                request,
                classify=classify,
                policy=policy or RetryPolicy(max_attempts=5, base_delay_s=0.1, max_total_s=60),
                idempotent=idempotent,
                provider="test",
                entity="machine",
                sleep=sleeps.append,
            )
        except Exception as exc:
            return exc, sleeps
        return response, sleeps


def test_success_first_time() -> None:
    result, sleeps = run(Script(httpx.Response(200, json={"ok": True})))
    assert isinstance(result, httpx.Response) and result.json() == {"ok": True}
    assert sleeps == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_is_retried_then_succeeds(status: int) -> None:
    script = Script(httpx.Response(status), httpx.Response(status), httpx.Response(200))
    result, sleeps = run(script)
    assert isinstance(result, httpx.Response) and result.status_code == 200
    assert script.calls == 3 and len(sleeps) == 2


def test_retries_are_bounded_in_count() -> None:
    script = Script(*[httpx.Response(503) for _ in range(10)])
    result, sleeps = run(script, policy=RetryPolicy(max_attempts=3, base_delay_s=0.01))
    assert isinstance(result, UnavailableError) and result.status == 503
    assert script.calls == 3 and len(sleeps) == 2


def test_retries_are_bounded_in_time() -> None:
    # Retry-After of 40 s twice would overrun a 60 s budget: give up before the second wait.
    script = Script(*[httpx.Response(429, headers={"Retry-After": "40"}) for _ in range(5)])
    result, sleeps = run(script)
    assert isinstance(result, ThrottledError) and result.retry_after == 40
    assert sleeps == [40.0] and script.calls == 2


def test_retry_after_seconds_is_honoured_exactly() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200))
    result, sleeps = run(script)
    assert isinstance(result, httpx.Response) and sleeps == [7.0]


def test_retry_after_http_date_is_honoured() -> None:
    when = datetime.now(UTC) + timedelta(seconds=20)
    script = Script(
        httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
        httpx.Response(200),
    )
    result, sleeps = run(script)
    assert isinstance(result, httpx.Response)
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Wed, 21 Oct 2015 07:28:00", 0.0),  # no zone: read as UTC, still past
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("", None),
    ],
)
def test_retry_after_parsing(header: str, expected: float | None) -> None:
    response = httpx.Response(429, headers={"Retry-After": header} if header else {})
    assert retry_after_seconds(response) == expected


def test_retry_after_date_relative_to_now() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    response = httpx.Response(429, headers={"Retry-After": header})
    assert retry_after_seconds(response, now=lambda: now.timestamp()) == 90.0


def test_backoff_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0)
    rng = random.Random(1)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (12, 4.0)]:
        values = [policy.backoff(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= v <= cap for v in values)
        assert max(values) > cap * 0.8  # full jitter spreads over the whole range
        assert min(values) < cap * 0.2


def test_lost_answer_of_a_write_is_not_resent() -> None:
    script = Script(httpx.ReadError("connection reset"), httpx.Response(201))
    result, sleeps = run(script, method="POST", idempotent=False)
    assert isinstance(result, AmbiguousWriteError)
    assert "may have been applied" in result.message and "POST /api/items" in result.message
    assert script.calls == 1 and sleeps == []


def test_write_answered_5xx_is_ambiguous() -> None:
    script = Script(httpx.Response(502), httpx.Response(201))
    result, _ = run(script, method="POST", idempotent=False)
    assert isinstance(result, AmbiguousWriteError) and result.status == 502
    assert script.calls == 1


def test_write_timeout_after_sending_is_ambiguous() -> None:
    script = Script(httpx.ReadTimeout("read timed out"), httpx.Response(201))
    result, _ = run(script, method="POST", idempotent=False)
    assert isinstance(result, AmbiguousWriteError) and script.calls == 1


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("t")]
)
def test_write_that_never_left_is_retried(exc: Exception) -> None:
    script = Script(exc, httpx.Response(201))
    result, sleeps = run(script, method="POST", idempotent=False)
    assert isinstance(result, httpx.Response) and result.status_code == 201
    assert script.calls == 2 and len(sleeps) == 1


def test_throttled_write_is_retried() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201))
    result, sleeps = run(script, method="POST", idempotent=False)
    assert isinstance(result, httpx.Response) and sleeps == [1.0]


def test_idempotent_write_is_retried_after_a_lost_answer() -> None:
    script = Script(httpx.ReadError("reset"), httpx.Response(204))
    result, _ = run(script, method="PATCH", idempotent=True)
    assert isinstance(result, httpx.Response) and script.calls == 2


def test_read_dropped_mid_body_is_retried() -> None:
    script = Script(httpx.RemoteProtocolError("peer closed connection"), httpx.Response(200))
    result, _ = run(script)
    assert isinstance(result, httpx.Response) and script.calls == 2


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ERPAuthenticationError),
        (403, ERPPermissionError),
        (404, ERPNotFoundError),
        (400, FatalError),
    ],
)
def test_fatal_statuses_are_not_retried(status: int, kind: type[Exception]) -> None:
    script = Script(httpx.Response(status), httpx.Response(200))
    result, sleeps = run(script)
    assert type(result) is kind and script.calls == 1 and sleeps == []


def test_fatal_transport_error_is_not_retried() -> None:
    script = Script(httpx.ConnectError("[Errno -2] Name or service not known"))
    result, sleeps = run(script)
    assert isinstance(result, ERPConfigurationError) and "DNS" in result.message
    assert sleeps == []


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            ERPConfigurationError,
            "DNS lookup of erp.example.test failed",
        ),
        (
            httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
            UnavailableError,
            "DNS lookup",
        ),
        (httpx.ConnectError("[Errno 111] Connection refused"), UnavailableError, "refused"),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
                "local issuer certificate (_ssl.c:1000)"
            ),
            ERPConfigurationError,
            "CA bundle",
        ),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch"
            ),
            ERPConfigurationError,
            "does not name this host",
        ),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
            ),
            ERPConfigurationError,
            "expired",
        ),
        (
            httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            ERPConfigurationError,
            "HTTPS port",
        ),
        (httpx.ConnectTimeout("timed out"), UnavailableError, "could not connect"),
        (httpx.ReadTimeout("timed out"), UnavailableError, "did not answer in time"),
        (httpx.RemoteProtocolError("peer closed"), UnavailableError, "broke off"),
    ],
)
def test_transport_errors_are_translated(exc: httpx.TransportError, kind: type, words: str) -> None:
    err = translate_transport_error(exc, provider="sap", url=URL, entity="machine")
    assert type(err) is kind
    assert words in err.message
    assert err.message.startswith("[SAP machine]")


def test_tls_error_found_in_the_cause_chain() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "verify failed")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("handshake failed") from inner
    except httpx.ConnectError as exc:
        err = translate_transport_error(exc, provider="sap", url=URL)
    assert isinstance(err, ERPConfigurationError) and "TLS handshake" in err.message


def test_classify_status_throttled_carries_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"}, request=httpx.Request("GET", URL))
    with pytest.raises(ThrottledError) as info:
        classify_status(response, provider="x")
    assert info.value.retry_after == 12


def test_ssl_context_rejects_an_unreadable_ca_bundle() -> None:
    with pytest.raises(ERPConfigurationError, match="ca_bundle_pem"):
        ssl_context("-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")


def test_ssl_context_without_verification_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert ssl_context(None, verify=False, provider="oracle") is False
    assert "DISABLED" in caplog.text and "oracle" in caplog.text
