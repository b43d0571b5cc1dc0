"""OData V2 value edge cases: every date form SAP sends, Edm.Time, decimals, write facets."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from plantsync.connectors.sap.values import (
    SapValueError,
    filter_literal,
    format_json_value,
    parse_change_stamp,
    parse_json_value,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/Date(1700000000000)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("\\/Date(1700000000000)\\/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("/Date(0)/", datetime(1970, 1, 1, tzinfo=UTC)),
        ("/Date(-86400000)/", datetime(1969, 12, 31, tzinfo=UTC)),
        ("/Date(253402214400000)/", datetime(9999, 12, 31, tzinfo=UTC)),
        ("2024-03-01T08:30:00", datetime(2024, 3, 1, 8, 30, tzinfo=UTC)),
        ("2024-03-01T08:30:00Z", datetime(2024, 3, 1, 8, 30, tzinfo=UTC)),
        (None, None),
        ("0000-00-00", None),
        ("00000000", None),
        ("", None),
        ("/Date(-62135596800000)/", None),  # ABAP initial timestamp 0001-01-01 = no date
    ],
)
def test_edm_datetime(raw: str | None, expected: datetime | None) -> None:
    assert parse_json_value("Edm.DateTime", raw) == expected


def test_datetimeoffset_keeps_the_offset() -> None:
    value = parse_json_value("Edm.DateTimeOffset", "/Date(1700000000000+0060)/")
    assert value == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert value.utcoffset() == timedelta(minutes=60)
    negative = parse_json_value("Edm.DateTimeOffset", "/Date(1700000000000-0300)/")
    assert negative.tzinfo == timezone(timedelta(minutes=-300))
    assert parse_json_value("Edm.DateTimeOffset", "2024-01-01T10:00:00+02:00").utcoffset() == (
        timedelta(hours=2)
    )


@pytest.mark.parametrize(
    "raw",
    ["/Date(253402300800000)/", "/Date(99999999999999999)/", "yesterday", "/Date(1+9999)/", 17],
)
def test_bad_dates_are_typed_errors_not_crashes(raw: object) -> None:
    with pytest.raises(SapValueError):
        parse_json_value("Edm.DateTime", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT8H30M", time(8, 30)),
        ("PT08H30M15S", time(8, 30, 15)),
        ("PT0S", time(0)),
        ("PT23H59M59.5S", time(23, 59, 59, 500000)),
        ("PT45M", time(0, 45)),
        (None, None),
    ],
)
def test_edm_time(raw: str | None, expected: time | None) -> None:
    assert parse_json_value("Edm.Time", raw) == expected


@pytest.mark.parametrize("raw", ["PT25H", "PT24H", "8:30", "PT", "-PT1H", 830])
def test_bad_times(raw: object) -> None:
    with pytest.raises(SapValueError):
        parse_json_value("Edm.Time", raw)


def test_numbers_and_flags() -> None:
    assert parse_json_value("Edm.Decimal", "12.500") == Decimal("12.500")
    assert parse_json_value("Edm.Decimal", "-0.001") == Decimal("-0.001")
    assert parse_json_value("Edm.Int64", "9007199254740993") == 9007199254740993
    assert parse_json_value("Edm.Int32", 7) == 7
    assert parse_json_value("Edm.Double", "1.5E+01") == 15.0
    assert parse_json_value("Edm.Boolean", True) is True
    assert parse_json_value("Edm.Guid", "6F1C7A52-3F0E-5B7E-9D7A-0C9B1F3E2A10") == (
        "6f1c7a52-3f0e-5b7e-9d7a-0c9b1f3e2a10"
    )
    for edm, raw in [("Edm.Decimal", "abc"), ("Edm.Decimal", "NaN"), ("Edm.Byte", 300)]:
        with pytest.raises(SapValueError):
            parse_json_value(edm, raw)


def test_change_stamps() -> None:
    assert parse_change_stamp("20240102030405") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_change_stamp("00000000000000") is None
    assert parse_change_stamp("/Date(0)/") == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(SapValueError):
        parse_change_stamp("20241399000000")


def test_writing_checks_the_metadata_facets() -> None:
    when = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert format_json_value("Edm.DateTime", when) == "/Date(1714550400000)/"
    assert format_json_value("Edm.DateTimeOffset", when) == "/Date(1714550400000+0000)/"
    assert format_json_value("Edm.DateTime", date(2024, 5, 1)) == "/Date(1714521600000)/"
    assert format_json_value("Edm.Time", time(8, 30)) == "PT08H30M00S"
    assert format_json_value("Edm.Decimal", Decimal("1.5"), precision=13, scale=3) == "1.500"
    assert format_json_value("Edm.Int64", 5) == "5"
    assert format_json_value("Edm.String", "abc", max_length=3) == "abc"
    bad = [
        ("Edm.Decimal", Decimal("1.2345"), {"precision": 13, "scale": 3}),
        ("Edm.Decimal", Decimal("12345678901"), {"precision": 13, "scale": 3}),
        ("Edm.String", "abcd", {"max_length": 3}),
        ("Edm.DateTime", datetime(2024, 1, 1), {}),  # naive: no zone, refused
        ("Edm.DateTime", "2024-01-01", {}),
        ("Edm.Boolean", "X", {}),
        ("Edm.Int32", 2**31, {}),
        ("Edm.Guid", "not-a-guid", {}),
    ]
    for edm, value, facets in bad:
        with pytest.raises(SapValueError):
            format_json_value(edm, value, **facets)


def test_filter_literals() -> None:
    when = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert filter_literal("Edm.DateTimeOffset", when) == "datetimeoffset'2024-05-01T08:00:00Z'"
    assert filter_literal("Edm.DateTime", when) == "datetime'2024-05-01T08:00:00'"
    assert filter_literal("Edm.String", "O'Neil") == "'O''Neil'"
    assert filter_literal("Edm.String", when) == "'20240501080000'"
    assert filter_literal("Edm.Guid", "6F1C7A52-3F0E-5B7E-9D7A-0C9B1F3E2A10").startswith(
        "guid'6f1c"
    )
    assert filter_literal("Edm.Boolean", False) == "false"
