"""Money: amounts in integer minor currency units, with the currency's ISO 4217 exponent.

The one table of minor-unit exponents, used by the connectors, the replay column mappings
and the text of targets.
"""

from __future__ import annotations

from typing import Final

#: ISO 4217 currencies whose minor unit is not 1/100 (all others: 2 decimals).
MINOR_EXPONENT: Final[dict[str, int]] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
    "UYW": 4,
}  # fmt: skip


def minor_exponent(currency: str) -> int:
    """Digits after the decimal point of a currency's minor unit (ISO 4217), 2 unless listed.

    >>> minor_exponent("EUR"), minor_exponent("JPY"), minor_exponent("KWD"), minor_exponent("CLF")
    (2, 0, 3, 4)
    """
    return MINOR_EXPONENT.get(currency, 2)


def format_minor(amount_minor: int, currency: str) -> str:
    """An amount in minor units as text, with the currency's ISO 4217 exponent.

    >>> format_minor(2_400_050, "EUR"), format_minor(2_400, "JPY"), format_minor(-1_500, "KWD")
    ('24,000.50 EUR', '2,400 JPY', '-1.500 KWD')
    """
    digits = minor_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    text = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    return f"{sign}{text} {currency}"
