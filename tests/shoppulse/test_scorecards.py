from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shoppulse.pace import pace
from shoppulse.scorecard_config import (
    ARTICLE_SERVICE_WEIGHTS,
    DEFAULT_MARKS,
    SALES_COMPONENTS,
    SERVICE_COMPONENTS,
    StoreScoring,
    WeightSet,
)
from shoppulse.scorecards import (
    SalesInputs,
    ServiceInputs,
    combine,
    score_sales,
    score_service,
)
from shoppulse.target_curves import FLAT_CURVE
from shoppulse.targets import StoreTarget

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


# --- scoring ------------------------------------------------------------------------------


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


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_service(SERVICE, StoreScoring(), datetime(2024, 6, 5, 12))
