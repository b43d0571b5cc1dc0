"""The Oracle wire protocol without a server: response classification, error bodies, q syntax,
value formatting, the auth model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from plantsync.connectors.oracle.auth import OracleAuthConfig
from plantsync.connectors.oracle.client import classify_oracle_response, oracle_error_message
from plantsync.connectors.oracle.codec import Condition, build_q, format_value, parse_timestamp
from plantsync.errors import (
    ERPAuthenticationError,
    ERPConfigurationError,
    ERPNotFoundError,
    ERPPermissionError,
    ERPValidationError,
    ThrottledError,
    UnavailableError,
)

URL = "https://pod.example.com/fscmRestApi/resources/11.13.18.05/maintenanceWorkOrders"
V4_ERROR = {
    "title": "Bad Request",
    "status": "400",
    "o:errorDetails": [
        {"detail": "Attribute OrganizationCode is required.", "o:errorCode": "JBO-27014"}
    ],
}


def response(status: int, **kw: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", URL), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ERPAuthenticationError),
        (403, ERPPermissionError),
        (404, ERPNotFoundError),
        (429, ThrottledError),
        (500, UnavailableError),
        (503, UnavailableError),
        (400, ERPValidationError),
        (409, ERPValidationError),
        (412, ERPValidationError),
        (405, ERPConfigurationError),
        (415, ERPConfigurationError),
    ],
)
def test_classify(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        classify_oracle_response(response(status, text="nope"))


def test_classify_success_returns() -> None:
    classify_oracle_response(response(201, json={}))


def test_throttled_carries_retry_after() -> None:
    with pytest.raises(ThrottledError) as info:
        classify_oracle_response(response(429, headers={"Retry-After": "7"}))
    assert info.value.retry_after == 7


def test_validation_message_from_v4_error_document() -> None:
    with pytest.raises(ERPValidationError) as info:
        classify_oracle_response(response(400, json=V4_ERROR))
    assert "Attribute OrganizationCode is required. (JBO-27014)" in str(info.value)


def test_message_from_plain_text_and_html() -> None:
    assert (
        oracle_error_message(response(400, text="Attribute X is required."))
        == "Attribute X is required."
    )
    html = "<html><body><h1>Not Found</h1><p>The page is gone</p></body></html>"
    assert oracle_error_message(response(404, text=html)) == "Not Found The page is gone"


def test_message_from_failed_batch_parts() -> None:
    body = {"parts": [{"id": "3", "path": "/x", "operation": "create", "exception": V4_ERROR}]}
    assert oracle_error_message(response(400, json=body)) == (
        "part 3: Attribute OrganizationCode is required. (JBO-27014)"
    )


def test_long_messages_are_clipped() -> None:
    assert len(oracle_error_message(response(400, text="x" * 5000))) <= 600


SINCE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("conditions", "version", "expected"),
    [
        ([Condition("WorkOrderNumber", "=", "WO-1")], 1, "WorkOrderNumber=WO-1"),
        ([Condition("A", "=", 1), Condition("B", "=", 2)], 1, "A=1;B=2"),
        (
            [Condition("Description", "=", "Main press; line 2")],
            1,
            "Description='Main press; line 2'",
        ),
        (
            [Condition("LastUpdateDate", ">=", SINCE)],
            1,
            "LastUpdateDate>=2026-01-05T10:00:00.000+00:00",
        ),
        (
            [Condition("LastUpdateDate", ">", SINCE)],
            2,
            "LastUpdateDate > '2026-01-05T10:00:00.000+00:00'",
        ),
        ([Condition("A", "=", 1), Condition("B", "=", "x")], 4, "A = 1 and B = 'x'"),
        ([Condition("Name", "=", "O'Brien")], 3, "Name = 'O''Brien'"),
    ],
)
def test_build_q_per_framework_version(
    conditions: list[Condition], version: int, expected: str
) -> None:
    assert build_q(conditions, version) == expected


def test_build_q_rejects_unknown_operators() -> None:
    with pytest.raises(ValueError, match="operator"):
        build_q([Condition("A", "LIKE", "x")], 2)


def test_format_value() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_value(datetime(2026, 1, 5, 11, 0, tzinfo=cet)) == "2026-01-05T10:00:00.000+00:00"
    assert format_value(date(2026, 1, 5)) == "2026-01-05"
    assert format_value(Decimal("12")) == 12
    assert format_value(Decimal("12.5")) == 12.5
    with pytest.raises(ValueError, match="time zone"):
        format_value(datetime(2026, 1, 5, 10, 0))


def test_parse_timestamp() -> None:
    assert parse_timestamp("2026-01-05T10:00:00.000+00:00") == SINCE
    assert parse_timestamp("2026-01-05T10:00:00") == SINCE  # naive: Oracle's UTC
    assert parse_timestamp("not a date") is None
    assert parse_timestamp(None) is None


class TestAuthConfig:
    def test_basic(self) -> None:
        cfg = OracleAuthConfig.model_validate({"username": "u", "password": "p"})
        assert not cfg.uses_oauth and cfg.rest_framework_version == 4

    def test_oauth(self) -> None:
        cfg = OracleAuthConfig.model_validate(
            {"token_url": "https://idcs/t", "client_id": "c", "client_secret": "s", "scope": "x"}
        )
        assert cfg.uses_oauth

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            ({}, "missing credentials"),
            ({"username": "u"}, "basic auth also needs: password"),
            (
                {"token_url": "https://idcs/t", "client_id": "c"},
                "OAuth2 also needs: client_secret, scope",
            ),
            ({"username": "u", "password": "p", "client_id": "c"}, "not both"),
            ({"username": "u", "password": "p", "tenant": "x"}, "Extra inputs"),
            (
                {"username": "u", "password": "p", "rest_framework_version": 12},
                "less than or equal",
            ),
        ],
    )
    def test_invalid_shapes_name_the_fields(self, data: dict[str, object], words: str) -> None:
        with pytest.raises(ValidationError) as info:
            OracleAuthConfig.model_validate(data)
        assert words in str(info.value)

    def test_secrets_are_masked(self) -> None:
        cfg = OracleAuthConfig.model_validate({"username": "u", "password": "hunter2"})
        assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.model_dump())
