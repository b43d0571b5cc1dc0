"""Money in minor units: ISO 4217 exponents, conversions and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantsync.money import exponent, format_minor, from_major, to_major


@pytest.mark.parametrize(
    ("currency", "expected"),
    [("EUR", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_exponent_follows_iso_4217(currency: str, expected: int) -> None:
    assert exponent(currency) == expected


def test_unknown_or_missing_currency_has_two_decimals() -> None:
    assert exponent("XXQ") == 2
    assert exponent(None) == 2
    assert exponent("") == 2


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1250, "EUR", "12.50 EUR"),
        (0, "EUR", "0.00 EUR"),
        (-5, "USD", "-0.05 USD"),
        (1200, "JPY", "1200 JPY"),
        (1250, "KWD", "1.250 KWD"),
        (123456789012, "EUR", "1234567890.12 EUR"),
    ],
)
def test_format_minor_uses_the_currency_decimals(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text


def test_to_major_and_from_major() -> None:
    assert to_major(1250, "EUR") == Decimal("12.50")
    assert to_major(1200, "JPY") == Decimal(1200)
    assert from_major(Decimal("12.5"), "EUR") == 1250
    assert from_major(Decimal("1.25"), "KWD") == 1250
    assert from_major(7, "JPY") == 7


def test_from_major_refuses_more_decimals_than_the_currency_has() -> None:
    with pytest.raises(ValueError, match="more decimals than JPY"):
        from_major(Decimal("1.5"), "JPY")
    with pytest.raises(ValueError, match="more decimals"):
        from_major(Decimal("0.001"), "EUR")


@given(
    st.integers(min_value=-(10**15), max_value=10**15),
    st.sampled_from(["EUR", "JPY", "KWD", "CLF", None]),
)
def test_minor_units_round_trip(minor: int, currency: str | None) -> None:
    assert from_major(to_major(minor, currency), currency) == minor
