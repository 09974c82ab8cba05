from __future__ import annotations

from shoppulse.money import format_minor


def test_format_minor() -> None:
    assert format_minor(0, "EUR") == "0.00 EUR"
    assert format_minor(5, "EUR") == "0.05 EUR"
    assert format_minor(123_456_789, "USD") == "1,234,567.89 USD"
    assert format_minor(9_000_000, "JPY") == "9,000,000 JPY"
    assert format_minor(1_234, "KWD") == "1.234 KWD"
