from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shoppulse.scorecard_config import (
    ARTICLE_SERVICE_WEIGHTS,
    ScorecardConfig,
    ScoreMark,
)
from shoppulse.scorecards import ServiceInputs, score_sales, score_service
from shoppulse.scorecards_file import ScorecardConfigError, load_scorecard_config
from tests.shoppulse.test_scorecards import PEAK, SALES

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")


# --- errors name the field ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "defaults: {weights: {sales: {peak: {gmv_attainment: 0.3, gross_margin: 0.3,"
            " new_customer_conversion: 0.2, repeat_purchase_rate: 0.25}}}}",
            "defaults.weights.sales.peak: weights must sum to 1 (within 1e-9), got 1.05",
        ),
        (
            "stores: {s1: {weights: {service: {off_peak: {csat_share: 0.6, resolution_rate: 0.6,"
            " first_response_p90_s: -0.2, escalation_rate: 0.0}}}}}",
            "stores.s1.weights.service.off_peak.first_response_p90_s: Input should be greater",
        ),
        (
            "defaults: {weights: {sales: {peak: {gmv_attainment: 1.0}}}}",
            "defaults.weights.sales.peak.gross_margin: required",
        ),
        (
            "defaults: {weights: {sales: {peak: {gmv_attainment: '0.3', gross_margin: 0.25,"
            " new_customer_conversion: 0.2, repeat_purchase_rate: 0.25}}}}",
            "defaults.weights.sales.peak.gmv_attainment: Input should be a valid number",
        ),
        ("defaults: {weights: {sales: {busy: {}}}}", "defaults.weights.sales.busy: unknown field"),
        ("defaults: {weights: {hr: {}}}", "defaults.weights.hr: unknown field"),
        ("defaults: {marks: {nps: {mark: 30}}}", "defaults.marks.nps: unknown field"),
        (
            "stores: {s1: {marks: {escalation_rate: {mark: 0.3}}}}",
            "stores.s1.marks.escalation_rate: mark (0.3) must be below zero_at (0.2)",
        ),
        (
            "defaults: {marks: {gross_margin: {mark: 0.3, zero_at: 0.5}}}",
            "defaults.marks.gross_margin: mark (0.3) must be above zero_at (0.5)",
        ),
        (
            "defaults: {marks: {gross_margin: {mark: .nan}}}",
            "defaults.marks.gross_margin.mark: Input should be a finite number",
        ),
        ("defaults: {peak_hours: ['10-25']}", "defaults.peak_hours: not an hour range '10-25'"),
        ("defaults: {timezone: Nowhere}", "defaults.timezone: unknown IANA time zone 'Nowhere'"),
        ("stores: [a]", "stores: Input should be a valid dictionary"),
        ("[1, 2]", "expected a YAML mapping"),
    ],
)
def test_config_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ScorecardConfigError) as info:
        load_scorecard_config(text)
    assert message in str(info.value)


# --- peak and off-peak ----------------------------------------------------------------------


PEAKY = """
defaults:
  timezone: Europe/Berlin
  weights:
    sales:
      peak: {gmv_attainment: 0.4, gross_margin: 0.2, new_customer_conversion: 0.2,
             repeat_purchase_rate: 0.2}
      off_peak: {gmv_attainment: 0.2, gross_margin: 0.4, new_customer_conversion: 0.2,
                 repeat_purchase_rate: 0.2}
stores:
  ny:
    timezone: America/New_York
    peak_hours: ["22:00-02:00"]
  quiet:
    peak_hours: []
"""


@pytest.mark.parametrize(
    ("store", "utc_hour", "utc_minute", "expected"),
    [
        ("berlin", 7, 59, "off_peak"),  # 09:59 local
        ("berlin", 8, 0, "peak"),  # 10:00 local
        ("berlin", 11, 59, "peak"),  # 13:59
        ("berlin", 12, 0, "off_peak"),  # 14:00: ends are exclusive
        ("berlin", 17, 0, "peak"),  # 19:00
        ("berlin", 21, 0, "off_peak"),  # 23:00
        ("ny", 3, 0, "peak"),  # 23:00 in New York, a range that wraps midnight
        ("ny", 5, 30, "peak"),  # 01:30
        ("ny", 6, 0, "off_peak"),  # 02:00
        ("ny", 16, 0, "off_peak"),  # 12:00
        ("quiet", 10, 0, "off_peak"),
    ],
)
def test_weight_set_follows_the_stores_local_hours(
    store: str, utc_hour: int, utc_minute: int, expected: str
) -> None:
    scoring = load_scorecard_config(PEAKY).for_store(store)
    now = datetime(2024, 6, 5, utc_hour, utc_minute, tzinfo=UTC)
    assert scoring.weight_set_at(now) == expected
    card = score_sales(SALES, scoring, now)
    assert card.weight_set == expected
    weights = {p.name: p.weight for p in card.parts}
    assert weights["gmv_attainment"] == (0.4 if expected == "peak" else 0.2)


def test_peak_and_off_peak_totals_differ_as_configured() -> None:
    scoring = load_scorecard_config(PEAKY).for_store("berlin")
    peak = score_sales(SALES, scoring, datetime(2024, 6, 5, 19, 0, tzinfo=BERLIN))
    off = score_sales(SALES, scoring, datetime(2024, 6, 5, 16, 0, tzinfo=BERLIN))
    # scores 80, 80, 100, 50 under 0.4/0.2/0.2/0.2 and 0.2/0.4/0.2/0.2
    assert peak.total == pytest.approx(32 + 16 + 20 + 10)
    assert off.total == pytest.approx(16 + 32 + 20 + 10)
    # The service role was not configured: the article's weights in both sets.
    assert scoring.service.peak == scoring.service.off_peak == ARTICLE_SERVICE_WEIGHTS


# --- the example file and per-store overrides ----------------------------------------------


def test_example_file_and_store_overrides() -> None:
    text = (ROOT / "config" / "scorecards.example.yaml").read_text(encoding="utf-8")
    config = load_scorecard_config(text)
    assert isinstance(config, ScorecardConfig)
    default = config.for_store("store-001")  # not listed: the defaults
    assert default is config.defaults
    assert default.timezone.key == "Europe/Berlin"
    assert default.sales.peak.weights["gmv_attainment"] == 0.35
    assert default.sales.off_peak.weights["gross_margin"] == 0.30
    assert default.service.off_peak == ARTICLE_SERVICE_WEIGHTS
    ny = config.for_store("store-002")
    assert ny.timezone.key == "America/New_York"
    assert ny.sales == default.sales  # inherited from defaults
    assert ny.marks["gross_margin"] == ScoreMark(0.22, 0.0)
    assert ny.marks["first_response_p90_s"] == ScoreMark(30.0, 120.0)
    assert ny.weight_set_at(datetime(2024, 6, 5, 3, 15, tzinfo=UTC)) == "peak"  # 23:15 local


def test_a_store_mark_overrides_field_by_field() -> None:
    config = load_scorecard_config(
        """
        defaults: {marks: {first_response_p90_s: {mark: 20, zero_at: 90}}}
        stores: {s1: {marks: {first_response_p90_s: {zero_at: 60}}}}
        """
    )
    assert config.defaults.marks["first_response_p90_s"] == ScoreMark(20.0, 90.0)
    assert config.for_store("s1").marks["first_response_p90_s"] == ScoreMark(20.0, 60.0)
    card = score_service(ServiceInputs(None, None, 40.0, None), config.for_store("s1"), PEAK)
    assert card.total == pytest.approx(50.0)  # (60 - 40) / (60 - 20)
