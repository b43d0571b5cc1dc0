"""Money in integer minor units: the one place that knows each currency's minor unit.

PlantSync stores amounts as integers of the currency's minor unit (cents for EUR, yen for JPY,
fils for KWD) next to an ISO 4217 code. How many decimals a currency's major unit has is its
ISO 4217 exponent: 2 for most currencies, 0 for JPY or KRW, 3 for KWD or BHD. Unknown codes
(and no code) are treated as 2, the common case.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies whose minor unit is not 1/100 of the major unit.
_NO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_NO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(_FOUR_DECIMALS.split(), 4),
}
_DEFAULT_EXPONENT = 2


def exponent(currency: str | None) -> int:
    """The number of decimals of ``currency``'s major unit (ISO 4217; 2 when unknown or None)."""
    return _EXPONENTS.get((currency or "").strip().upper(), _DEFAULT_EXPONENT)


def to_major(minor: int, currency: str | None) -> Decimal:
    """``minor`` units as an exact decimal amount of the major unit (1250 EUR -> 12.50)."""
    return Decimal(minor).scaleb(-exponent(currency))


def from_major(amount: Decimal | int, currency: str | None) -> int:
    """A major-unit amount as integer minor units (12.5 EUR -> 1250).

    Raises:
        ValueError: ``amount`` has more decimals than ``currency`` allows (12.345 EUR).
    """
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency or 'the currency'} allows")
    return int(scaled)


def format_minor(amount: int, currency: str) -> str:
    """``amount`` minor units for people: ``"12.50 EUR"``, ``"1200 JPY"``, ``"1.250 KWD"``."""
    return f"{to_major(amount, currency):f} {currency}"
