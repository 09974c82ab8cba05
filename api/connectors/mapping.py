"""What the connectors share: a mapping's result and money in minor units.

>>> to_minor("19.99", "USD"), to_minor(1500, "JPY"), to_minor("1.2345", "KWD")
(1999, 1500, 1235)
>>> to_minor("1e999999999", "EUR")
Traceback (most recent call last):
...
api.connectors.mapping.MappingError: amount '1e999999999' is not finite or too large
>>> to_minor("1e-999999999", "EUR"), to_minor("0e99999999", "EUR")
(0, 0)
>>> to_minor("abc", "EUR")
Traceback (most recent call last):
...
api.connectors.mapping.MappingError: amount 'abc' is not a decimal number
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation
from typing import Any, Final

from shoppulse.money import minor_exponent

MAX_AMOUNT_DIGITS: Final = 12
"""Amounts of 10**12 or more are refused before any arithmetic (the contract's limit is
10**13 minor units)."""


class MappingError(ValueError):
    """A source event that cannot become a ShopPulse event (refused like a ``schema`` error)."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """One source event's fate: an envelope to produce, or why it is ignored."""

    envelope: dict[str, Any] | None = None
    ignored: str | None = None


def to_minor(amount: object, currency: str) -> int:
    """A decimal amount (JSON number or text) in the currency's minor units, rounded half up;
    negative amounts are taken as their absolute value (refund totals may come signed)."""
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise MappingError(f"amount {amount!r} is not a decimal number")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise MappingError(f"amount {amount!r} is not a decimal number") from None
    if not value.is_finite() or (value != 0 and value.adjusted() >= MAX_AMOUNT_DIGITS):
        raise MappingError(f"amount {amount!r} is not finite or too large")
    exponent = minor_exponent(currency)
    try:
        minor = (abs(value) * (Decimal(10) ** exponent)).quantize(Decimal(1), ROUND_HALF_UP)
    except DecimalException:
        raise MappingError(f"amount {amount!r} is not a usable decimal number") from None
    return int(minor)


def currency_of(value: object) -> str:
    """An ISO 4217 code, upper case; :class:`MappingError` if it is not three letters."""
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise MappingError(f"currency {value!r} is not an ISO 4217 code")
    return value.strip().upper()


def text(value: object) -> str | None:
    """A JSON string or integer id as text (ids come as either); None if absent or empty."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        out = str(value).strip()
        return out or None
    return None
