"""Money as text: amounts in integer minor currency units, with the currency's ISO 4217 exponent."""

from __future__ import annotations

from typing import Final

_ZERO_DECIMAL: Final = frozenset(
    ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND")
) | frozenset(("VUV", "XAF", "XOF", "XPF"))
_THREE_DECIMAL: Final = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))


def format_minor(amount_minor: int, currency: str) -> str:
    """An amount in minor units as text, with the currency's ISO 4217 exponent.

    >>> format_minor(2_400_050, "EUR"), format_minor(2_400, "JPY"), format_minor(-1_500, "KWD")
    ('24,000.50 EUR', '2,400 JPY', '-1.500 KWD')
    """
    digits = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    text = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    return f"{sign}{text} {currency}"
