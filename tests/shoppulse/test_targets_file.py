from __future__ import annotations

import math
from datetime import date, time
from pathlib import Path

import pytest

from shoppulse.target_curves import ECOMMERCE_CURVE, expected_share
from shoppulse.targets_file import TargetsError, load_targets

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_loads() -> None:
    book = load_targets((ROOT / "config" / "targets.example.yaml").read_text(encoding="utf-8"))
    assert len(book) == 4
    s1 = book.get("store-001")
    assert s1 is not None
    assert (s1.currency, s1.timezone.key, s1.curve.name) == ("EUR", "Europe/Berlin", "ecommerce")
    assert s1.target_minor_on(date(2024, 6, 5)) == 2_400_000  # a Wednesday
    assert s1.target_minor_on(date(2024, 6, 8)) == 3_000_000  # a Saturday
    s2 = book.get("store-002")
    assert s2 is not None
    assert (s2.currency, s2.timezone.key, s2.curve.name) == (
        "USD",
        "America/New_York",
        "late_evening",
    )
    s7 = book.get("store-007")
    assert s7 is not None
    assert s7.target_minor_on(date(2024, 6, 9)) == 0  # closed on Sundays
    assert book.get("store-999") is None
    assert "store-003" in book


def test_defaults_fill_in_and_timezone_defaults_to_utc() -> None:
    book = load_targets(
        """
        defaults: {daily_gmv_target_minor: 500, currency: SEK}
        stores:
          a: {}
          b: {daily_gmv_target_minor: 700, curve: flat, timezone: Asia/Tokyo}
        """
    )
    a, b = book.get("a"), book.get("b")
    assert a is not None
    assert b is not None
    assert (a.daily_gmv_target_minor, a.currency, a.timezone.key) == (500, "SEK", "UTC")
    assert a.curve is ECOMMERCE_CURVE
    assert (b.daily_gmv_target_minor, b.currency, b.timezone.key, b.curve.name) == (
        700,
        "SEK",
        "Asia/Tokyo",
        "flat",
    )


def test_named_and_inline_curves_are_normalized() -> None:
    book = load_targets(
        """
        curves: {evening: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]}
        stores:
          a: {daily_gmv_target_minor: 1, currency: EUR, curve: evening}
          b: {daily_gmv_target_minor: 1, currency: EUR,
              curve: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6]}
        """
    )
    a, b = book.get("a"), book.get("b")
    assert a is not None
    assert b is not None
    assert a.curve.weights[18] == 0.25
    assert expected_share(a.curve, time(18, 0)) == 0.0
    assert expected_share(a.curve, time(20, 0)) == 0.5
    assert expected_share(b.curve, time(12, 0)) == 0.25
    for curve in (a.curve, b.curve):
        assert math.fsum(curve.weights) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stores: {s1: {currency: EUR}}", "stores.s1.daily_gmv_target_minor: required"),
        ("stores: {s1: {daily_gmv_target_minor: 10}}", "stores.s1.currency: required"),
        (
            "stores: {s1: {daily_gmv_target_minor: '10', currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be a valid integer",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 10.5, currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be a valid integer",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: -1, currency: EUR}}",
            "stores.s1.daily_gmv_target_minor: Input should be greater than or equal to 0",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: eur}}",
            "stores.s1.currency: an ISO 4217 currency code",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, timezone: Mars/Base}}",
            "stores.s1.timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, curve: [1, 2]}}",
            "stores.s1.curve: a curve has 24 hourly weights, got 2",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, curve: nightly}}",
            "stores.s1.curve: unknown curve 'nightly'; known: ecommerce, flat",
        ),
        (
            "defaults: {curve: nightly}\nstores: {s1: {daily_gmv_target_minor: 1, currency: EUR}}",
            "defaults.curve: unknown curve 'nightly'",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR, colour: red}}",
            "stores.s1.colour: unknown field",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR,"
            " weekday_targets_minor: {fri: -5}}}",
            "stores.s1.weekday_targets_minor.fri: Input should be greater than or equal to 0",
        ),
        (
            "stores: {s1: {daily_gmv_target_minor: 1, currency: EUR,"
            " weekday_targets_minor: {friday: 5}}}",
            "stores.s1.weekday_targets_minor: key 'friday'",
        ),
        ("curves: {x: [0, 0]}\nstores: {}", "curves.x: a curve has 24 hourly weights"),
        (f"curves: {{x: {[0] * 24}}}\nstores: {{}}", "curves.x: curve weights must not all be 0"),
        (f"curves: {{x: {[1] * 23 + [-1]}}}\nstores: {{}}", "curves.x: curve weights must be"),
        (f"curves: {{flat: {[1] * 24}}}\nstores: {{}}", "the built-in curve 'flat' cannot be"),
        ("defaults: {currency: EUR}", "stores: required"),
        ("stores: {001: {daily_gmv_target_minor: 1, currency: EUR}}", "stores: key 1"),
        ("- a\n- b", "expected a YAML mapping"),
        ("stores: {s1: [", "not valid YAML"),
    ],
)
def test_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(TargetsError) as info:
        load_targets(text)
    assert message in str(info.value)
