from __future__ import annotations

import math

import pytest

from shoppulse.scorecard_config import (
    ARTICLE_SALES_WEIGHTS,
    ARTICLE_SERVICE_WEIGHTS,
    DEFAULT_MARKS,
    ScoreMark,
    StoreScoring,
    WeightSet,
)
from shoppulse.scorecards_file import load_scorecard_config
from tests.shoppulse.test_scorecards import _weights

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
