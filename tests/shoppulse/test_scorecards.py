from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shoppulse.scorecards import (
    ARTICLE_SALES_WEIGHTS,
    ARTICLE_SERVICE_WEIGHTS,
    DEFAULT_MARKS,
    SALES_COMPONENTS,
    SERVICE_COMPONENTS,
    SalesInputs,
    ScorecardConfig,
    ScorecardConfigError,
    ScoreMark,
    ServiceInputs,
    StoreScoring,
    WeightSet,
    combine,
    load_scorecard_config,
    score_sales,
    score_service,
)
from shoppulse.targets import FLAT_CURVE, StoreTarget, pace

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
OFF_PEAK = datetime(2024, 6, 5, 16, 0, tzinfo=UTC)  # 16:00 UTC: off-peak with the defaults
PEAK = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)

SALES = SalesInputs(
    gmv_attainment=0.40,  # at an hour when 50% is expected: pace ratio 0.8 → 80
    gmv_expected_share=0.50,
    gross_margin=0.24,  # / 0.30 → 80
    new_customer_conversion=0.03,  # / 0.02, capped → 100
    repeat_purchase_rate=0.15,  # / 0.30 → 50
)
SERVICE = ServiceInputs(
    csat_share=0.81,  # / 0.90 → 90
    resolution_rate=0.72,  # / 0.90 → 80
    first_response_p90_s=75.0,  # (120 - 75) / (120 - 30) → 50
    escalation_rate=0.05,  # 1 - 0.05 / 0.20 → 75
)


def _weights(role: str, values: list[float]) -> WeightSet:
    names = SALES_COMPONENTS if role == "sales" else SERVICE_COMPONENTS
    return WeightSet(
        "sales" if role == "sales" else "service", dict(zip(names, values, strict=True))
    )


# --- defaults: the article's weights ------------------------------------------------------


def test_the_article_weights_are_the_default_for_both_sets() -> None:
    assert dict(ARTICLE_SALES_WEIGHTS.weights) == {
        "gmv_attainment": 0.30,
        "gross_margin": 0.25,
        "new_customer_conversion": 0.20,
        "repeat_purchase_rate": 0.25,
    }
    assert dict(ARTICLE_SERVICE_WEIGHTS.weights) == {
        "csat_share": 0.40,
        "resolution_rate": 0.30,
        "first_response_p90_s": 0.20,
        "escalation_rate": 0.10,
    }
    for scoring in (
        StoreScoring(),
        load_scorecard_config("").defaults,
        load_scorecard_config("defaults: {}").for_store("any"),
    ):
        assert scoring.sales.peak == scoring.sales.off_peak == ARTICLE_SALES_WEIGHTS
        assert scoring.service.peak == scoring.service.off_peak == ARTICLE_SERVICE_WEIGHTS
        assert dict(scoring.marks) == dict(DEFAULT_MARKS)
        assert scoring.timezone.key == "UTC"


def test_hand_computed_sales_example() -> None:
    card = score_sales(SALES, StoreScoring(), OFF_PEAK)
    assert [p.score for p in card.parts] == [80.0, 80.0, 100.0, 50.0]
    assert card.part("gmv_attainment").value == pytest.approx(0.8)
    # 0.30 * 80 + 0.25 * 80 + 0.20 * 100 + 0.25 * 50
    assert card.total == pytest.approx(76.5)
    assert (card.role, card.weight_set, card.missing) == ("sales", "off_peak", [])


def test_hand_computed_service_example() -> None:
    card = score_service(SERVICE, StoreScoring(), OFF_PEAK)
    assert [p.score for p in card.parts] == [90.0, 80.0, 50.0, 75.0]
    # 0.40 * 90 + 0.30 * 80 + 0.20 * 50 + 0.10 * 75
    assert card.total == pytest.approx(77.5)
    assert [p.effective_weight for p in card.parts] == [0.40, 0.30, 0.20, 0.10]


def test_gmv_is_judged_against_the_expected_share() -> None:
    half_at_noon = SalesInputs(0.5, None, None, None, gmv_expected_share=0.5)
    card = score_sales(half_at_noon, StoreScoring(), OFF_PEAK)
    assert card.part("gmv_attainment").score == 100.0
    assert card.total == 100.0
    finished_day = SalesInputs(0.5, None, None, None)  # expected share 1.0: a closed day
    assert score_sales(finished_day, StoreScoring(), OFF_PEAK).total == 50.0


def test_gmv_is_missing_while_too_early() -> None:
    early = SalesInputs(0.001, 0.30, None, None, gmv_expected_share=0.01)
    card = score_sales(early, StoreScoring(), OFF_PEAK)
    assert card.missing == ["gmv_attainment", "new_customer_conversion", "repeat_purchase_rate"]
    assert card.total == 100.0  # only gross margin is left
    looser = score_sales(early, StoreScoring(), OFF_PEAK, min_expected_share=0.005)
    assert looser.part("gmv_attainment").score == 10.0


def test_sales_inputs_from_pace() -> None:
    store = StoreTarget("s1", 2_400_000, "EUR", BERLIN, FLAT_CURVE)
    now = datetime(2024, 6, 5, 12, 0, tzinfo=BERLIN)
    p = pace(1_152_000, store, now)
    inputs = SalesInputs.from_pace(
        p, gross_margin=0.30, new_customer_conversion=0.02, repeat_purchase_rate=0.30
    )
    card = score_sales(inputs, StoreScoring(BERLIN), now)
    assert card.part("gmv_attainment").value == pytest.approx(p.projected_ratio)
    assert card.part("gmv_attainment").score == pytest.approx(96.0)
    assert card.total == pytest.approx(0.30 * 96 + 0.70 * 100)
    assert card.weight_set == "peak"


def test_inputs_from_kpi_mappings() -> None:
    sales = SalesInputs.from_kpis(
        {
            "gmv_attainment": 0.4,
            "gmv_expected_share": 0.5,
            "gross_margin": 0.24,
            "new_customer_conversion": 0.03,
            "repeat_purchase_rate": 0.15,
            "orders": 12.0,
        }
    )
    assert sales == SALES
    adjusted = SalesInputs.from_kpis({"gmv_attainment_expected": 0.8, "gmv_attainment": 0.1})
    assert (adjusted.gmv_attainment, adjusted.gmv_expected_share) == (0.8, 1.0)
    assert SalesInputs.from_kpis({"gmv_attainment": 0.3}).gmv_expected_share == 1.0
    service = ServiceInputs.from_kpis(
        {
            "csat_share": 0.81,
            "resolution_rate": 0.72,
            "first_response_p90_ms": 75_000,
            "escalation_rate": 0.05,
        }
    )
    assert service == SERVICE
    assert ServiceInputs.from_kpis({}) == ServiceInputs(None, None, None, None)


# --- sub-scores ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "score"),
    [(0.0, 100.0), (10.0, 100.0), (30.0, 100.0), (75.0, 50.0), (120.0, 0.0), (600.0, 0.0)],
)
def test_response_speed_score(value: float, score: float) -> None:
    assert DEFAULT_MARKS["first_response_p90_s"].score(value) == score


@pytest.mark.parametrize(
    ("value", "score"), [(0.0, 100.0), (0.05, 75.0), (0.10, 50.0), (0.20, 0.0), (0.5, 0.0)]
)
def test_escalation_score_lower_is_better(value: float, score: float) -> None:
    assert DEFAULT_MARKS["escalation_rate"].score(value) == score


@pytest.mark.parametrize(
    ("name", "value", "score"),
    [
        ("gross_margin", 0.30, 100.0),
        ("gross_margin", 0.15, 50.0),
        ("gross_margin", -0.2, 0.0),
        ("new_customer_conversion", 0.01, 50.0),
        ("repeat_purchase_rate", 0.60, 100.0),
        ("csat_share", 0.90, 100.0),
        ("csat_share", 0.45, 50.0),
        ("resolution_rate", 0.95, 100.0),
        ("gmv_attainment", 1.7, 100.0),
    ],
)
def test_higher_is_better_scores(name: str, value: float, score: float) -> None:
    assert DEFAULT_MARKS[name].score(value) == pytest.approx(score)


def test_marks_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="differ"):
        ScoreMark(0.3, 0.3)
    with pytest.raises(ValueError, match="non-finite"):
        ScoreMark(0.3).score(math.nan)


def test_scores_and_totals_stay_within_0_and_100() -> None:
    rng = random.Random(7)
    extremes = [None, -5.0, 0.0, 1e-9, 0.5, 1.0, 3.0, 1e6]
    for _ in range(2000):
        sales = SalesInputs(
            rng.choice([*extremes, rng.uniform(0, 2)]),
            rng.choice([*extremes, rng.uniform(-1, 1)]),
            rng.choice([*extremes, rng.uniform(0, 0.1)]),
            rng.choice([*extremes, rng.uniform(0, 1)]),
            rng.choice([0.0, 0.01, 0.02, 0.5, 1.0, rng.random()]),
        )
        service = ServiceInputs(
            rng.choice([*extremes, rng.random()]),
            rng.choice([*extremes, rng.random()]),
            rng.choice([*extremes, rng.uniform(0, 300)]),
            rng.choice([*extremes, rng.random()]),
        )
        for card in (
            score_sales(sales, StoreScoring(), OFF_PEAK),
            score_service(service, StoreScoring(), PEAK),
        ):
            scores = [p.score for p in card.parts if p.score is not None]
            assert all(0.0 <= s <= 100.0 for s in scores)
            if card.total is None:
                assert scores == []
            else:
                assert 0.0 <= card.total <= 100.0
                assert min(scores) - 1e-9 <= card.total <= max(scores) + 1e-9
                assert math.fsum(p.effective_weight for p in card.parts) == pytest.approx(1.0)


# --- missing inputs -------------------------------------------------------------------------


def test_missing_input_is_excluded_and_weights_renormalized() -> None:
    no_ratings = ServiceInputs(None, 0.72, 75.0, 0.05)
    card = score_service(no_ratings, StoreScoring(), OFF_PEAK)
    assert card.missing == ["csat_share"]
    # (0.30 * 80 + 0.20 * 50 + 0.10 * 75) / 0.60
    assert card.total == pytest.approx(41.5 / 0.6)
    csat = card.part("csat_share")
    assert (csat.value, csat.score, csat.weight, csat.effective_weight) == (None, None, 0.4, 0.0)
    assert card.part("resolution_rate").effective_weight == pytest.approx(0.5)


def test_all_missing_gives_no_total() -> None:
    card = score_service(ServiceInputs(None, None, None, None), StoreScoring(), OFF_PEAK)
    assert card.total is None
    assert card.missing == list(SERVICE_COMPONENTS)
    assert len(card.parts) == 4


def test_present_parts_with_zero_weight_give_no_total() -> None:
    only_gmv = _weights("sales", [1.0, 0.0, 0.0, 0.0])
    card = combine(
        "sales",
        {
            "gmv_attainment": None,
            "gross_margin": 0.3,
            "new_customer_conversion": 0.02,
            "repeat_purchase_rate": 0.3,
        },
        only_gmv,
        DEFAULT_MARKS,
        "peak",
    )
    assert card.total is None
    assert card.missing == ["gmv_attainment"]


def test_a_weight_set_of_another_role_is_refused() -> None:
    with pytest.raises(ValueError, match="service weight set cannot score the sales role"):
        combine("sales", {}, ARTICLE_SERVICE_WEIGHTS, DEFAULT_MARKS, "peak")


# --- weights --------------------------------------------------------------------------------


def test_weights_must_sum_to_one_within_1e_9() -> None:
    _weights("sales", [0.3, 0.25, 0.2, 0.25 + 5e-10])
    with pytest.raises(ValueError, match="must sum to 1"):
        _weights("sales", [0.3, 0.25, 0.2, 0.25 + 1e-8])
    with pytest.raises(ValueError, match="must sum to 1"):
        _weights("service", [0.4, 0.3, 0.2, 0.0])


def test_weights_must_be_non_negative_and_complete() -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        _weights("sales", [0.5, 0.5, 0.25, -0.25])
    with pytest.raises(ValueError, match=r"missing \['escalation_rate'\]"):
        WeightSet(
            "service", {"csat_share": 0.5, "resolution_rate": 0.3, "first_response_p90_s": 0.2}
        )
    with pytest.raises(ValueError, match=r"unknown \['nps'\]"):
        WeightSet("service", {**ARTICLE_SERVICE_WEIGHTS.weights, "nps": 0.0})


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


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_service(SERVICE, StoreScoring(), datetime(2024, 6, 5, 12))


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
