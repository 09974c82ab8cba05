"""Live role scorecards: the seed article's weighted scores for the sales and service roles.

The article (权重分配, "weight allocation") scores a sales role on GMV 30%, gross margin 25%,
new-customer conversion 20% and repeat purchase 25%, and a service role on satisfaction
40%, resolution rate 30%, response speed 20% and escalation rate 10%. These are the
built-in weights, for both weight sets. The article also suggests floating weights between
busy and quiet seasons (淡旺季权重浮动: more weight on GMV when busy, on profit when
quiet); here the two sets are ``peak`` and ``off_peak`` *hours*, chosen by the store's
local time (default peak hours 10:00-14:00 and 19:00-23:00).

Components, their inputs and how each becomes a 0-100 sub-score. Every component has a
``mark`` (scores 100) and a ``zero_at`` (scores 0); the score is linear in between and
clamped, ``100 * clamp((value - zero_at) / (mark - zero_at), 0, 1)``:

=============================  ==========================================  =====  =======
component (role)               value                                       mark   zero_at
=============================  ==========================================  =====  =======
``gmv_attainment`` (sales)     GMV today / (target * expected share now)   1.0    0
``gross_margin`` (sales)       gross margin                                0.30   0
``new_customer_conversion``    new-customer conversion (sessions based)    0.02   0
``repeat_purchase_rate``       repeat-purchase rate                        0.30   0
``csat_share`` (service)       ratings 4-5 / ratings                       0.90   0
``resolution_rate``            resolved / opened (the article: > 90%)      0.90   0
``first_response_p90_s``       first-response time p90, seconds            30     120
``escalation_rate``            escalations / conversations (lower better)  0       0.20
=============================  ==========================================  =====  =======

So a store at 50% of its daily target at an hour when its curve expects 50% scores 100 on
GMV; a first-response p90 of 30 s or less scores 100, 75 s scores 50 and 120 s or more 0;
an escalation rate of 0 scores 100, 5% scores 75 and 20% or more scores 0. GMV is left out
(missing) while less than :data:`shoppulse.pace.MIN_EXPECTED_SHARE` of the day's GMV is
expected, as early pace is noise.

A missing input (``None``: no chats this hour, no cost data, no target) is left out of the
total, the other weights are renormalized, and its name is listed in ``missing``; when
every input is missing the total is ``None``. The service scorecard is computed the same
way per store and per agent (feed it that agent's KPIs).

The components' marks and the weight sets are in :mod:`shoppulse.scorecard_config`, the
YAML file that overrides them in :mod:`shoppulse.scorecards_file`.

>>> from shoppulse.scorecards_file import load_scorecard_config
>>> cfg = load_scorecard_config("defaults: {timezone: Europe/Berlin}")
>>> from datetime import UTC, datetime
>>> card = score_service(ServiceInputs(csat_share=0.81, resolution_rate=0.72,
...     first_response_p90_s=75.0, escalation_rate=0.05), cfg.for_store("s1"),
...     datetime(2024, 6, 5, 16, 0, tzinfo=UTC))
>>> card.weight_set, round(card.total, 6), [p.score for p in card.parts]
('off_peak', 77.5, [90.0, 80.0, 50.0, 75.0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shoppulse.pace import MIN_EXPECTED_SHARE, Pace
from shoppulse.scorecard_config import (
    COMPONENTS,
    Role,
    ScoreMark,
    StoreScoring,
    WeightSet,
    WeightSetName,
)

# --- inputs and outputs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SalesInputs:
    """The sales scorecard's inputs; ``None`` = not available (left out, renormalized).

    ``gmv_attainment`` is GMV today / today's target, ``gmv_expected_share`` the share of
    the day's GMV the store's curve expects by now (1.0 for a finished day).
    """

    gmv_attainment: float | None
    gross_margin: float | None
    new_customer_conversion: float | None
    repeat_purchase_rate: float | None
    gmv_expected_share: float = 1.0

    @classmethod
    def from_pace(
        cls,
        pace: Pace,
        *,
        gross_margin: float | None,
        new_customer_conversion: float | None,
        repeat_purchase_rate: float | None,
    ) -> SalesInputs:
        """Take GMV attainment and expected share from :func:`shoppulse.pace.pace`."""
        return cls(
            pace.attainment,
            gross_margin,
            new_customer_conversion,
            repeat_purchase_rate,
            pace.expected_share,
        )

    @classmethod
    def from_kpis(cls, values: Mapping[str, float | None]) -> SalesInputs:
        """From KPI values by name; absent names are ``None``.

        Either ``gmv_attainment`` with ``gmv_expected_share`` (default 1.0), or an already
        pace-adjusted ``gmv_attainment_expected`` (= attainment / expected share).

        >>> SalesInputs.from_kpis({"gmv_attainment_expected": 0.9, "gross_margin": 0.3})
        SalesInputs(gmv_attainment=0.9, gross_margin=0.3, new_customer_conversion=None, repeat_purchase_rate=None, gmv_expected_share=1.0)
        """  # noqa: E501
        adjusted = values.get("gmv_attainment_expected")
        attainment: float | None
        if adjusted is not None:
            attainment, share = adjusted, 1.0
        else:
            attainment = values.get("gmv_attainment")
            share_value = values.get("gmv_expected_share")
            share = 1.0 if share_value is None else share_value
        return cls(
            attainment,
            values.get("gross_margin"),
            values.get("new_customer_conversion"),
            values.get("repeat_purchase_rate"),
            share,
        )


@dataclass(frozen=True, slots=True)
class ServiceInputs:
    """The service scorecard's inputs, for a store or one agent; ``None`` = not available."""

    csat_share: float | None
    resolution_rate: float | None
    first_response_p90_s: float | None
    escalation_rate: float | None

    @classmethod
    def from_kpis(cls, values: Mapping[str, float | None]) -> ServiceInputs:
        """From KPI values by name (``first_response_p90_ms`` is accepted as well).

        >>> ServiceInputs.from_kpis({"csat_share": 0.9, "first_response_p90_ms": 45_000})
        ServiceInputs(csat_share=0.9, resolution_rate=None, first_response_p90_s=45.0, escalation_rate=None)
        """  # noqa: E501
        p90_s = values.get("first_response_p90_s")
        p90_ms = values.get("first_response_p90_ms")
        if p90_s is None and p90_ms is not None:
            p90_s = p90_ms / 1000.0
        return cls(
            values.get("csat_share"),
            values.get("resolution_rate"),
            p90_s,
            values.get("escalation_rate"),
        )


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One component of a scorecard.

    ``weight`` is the configured weight, ``effective_weight`` its share of the total after
    renormalization (0 when missing); ``value``/``score`` are ``None`` when missing.
    """

    name: str
    weight: float
    value: float | None
    mark: float
    score: float | None
    zero_at: float
    effective_weight: float


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A role's 0-100 score: the weighted mean of the available parts' sub-scores."""

    role: Role
    total: float | None
    parts: list[ScorePart]
    weight_set: WeightSetName
    missing: list[str]

    def part(self, name: str) -> ScorePart:
        return next(p for p in self.parts if p.name == name)


# --- scoring ------------------------------------------------------------------------------


def combine(
    role: Role,
    values: Mapping[str, float | None],
    weights: WeightSet,
    marks: Mapping[str, ScoreMark],
    weight_set: WeightSetName,
) -> Scorecard:
    """Score each component of ``role`` and combine them, renormalizing over the present.

    >>> from shoppulse.scorecard_config import ARTICLE_SALES_WEIGHTS, DEFAULT_MARKS
    >>> card = combine("sales", {"gmv_attainment": 0.8, "gross_margin": None,
    ...     "new_customer_conversion": 0.01, "repeat_purchase_rate": 0.3},
    ...     ARTICLE_SALES_WEIGHTS, DEFAULT_MARKS, "off_peak")
    >>> round(card.total, 6), card.missing  # (0.3*80 + 0.2*50 + 0.25*100) / 0.75
    (78.666667, ['gross_margin'])
    """
    if weights.role != role:
        raise ValueError(f"a {weights.role} weight set cannot score the {role} role")
    scored: list[tuple[str, float, float | None, float | None]] = []
    for name in COMPONENTS[role]:
        value = values.get(name)
        score = None if value is None else marks[name].score(value)
        scored.append((name, weights.weights[name], value, score))
    present_weight = math.fsum(w for _, w, _, s in scored if s is not None)
    parts = [
        ScorePart(
            name,
            w,
            v,
            marks[name].mark,
            s,
            marks[name].zero_at,
            w / present_weight if s is not None and present_weight > 0 else 0.0,
        )
        for name, w, v, s in scored
    ]
    total: float | None = None
    if present_weight > 0:
        total = math.fsum(p.effective_weight * p.score for p in parts if p.score is not None)
        total = round(min(100.0, max(0.0, total)), 9)
    missing = [p.name for p in parts if p.value is None]
    return Scorecard(role, total, parts, weight_set, missing)


def score_sales(
    inputs: SalesInputs,
    scoring: StoreScoring,
    now: datetime,
    *,
    min_expected_share: float = MIN_EXPECTED_SHARE,
) -> Scorecard:
    """The sales scorecard at ``now`` (aware; picks the peak or off-peak weights).

    The GMV part's value is ``gmv_attainment / gmv_expected_share`` (pace-adjusted); it is
    missing while the expected share is below ``min_expected_share``.
    """
    weight_set = scoring.weight_set_at(now)
    pace_ratio: float | None = None
    if inputs.gmv_attainment is not None and inputs.gmv_expected_share >= min_expected_share:
        pace_ratio = inputs.gmv_attainment / inputs.gmv_expected_share
    values = {
        "gmv_attainment": pace_ratio,
        "gross_margin": inputs.gross_margin,
        "new_customer_conversion": inputs.new_customer_conversion,
        "repeat_purchase_rate": inputs.repeat_purchase_rate,
    }
    weights = scoring.weights("sales", weight_set)
    return combine("sales", values, weights, scoring.marks, weight_set)


def score_service(inputs: ServiceInputs, scoring: StoreScoring, now: datetime) -> Scorecard:
    """The service scorecard (a store's or one agent's) at ``now`` (aware)."""
    weight_set = scoring.weight_set_at(now)
    values = {
        "csat_share": inputs.csat_share,
        "resolution_rate": inputs.resolution_rate,
        "first_response_p90_s": inputs.first_response_p90_s,
        "escalation_rate": inputs.escalation_rate,
    }
    weights = scoring.weights("service", weight_set)
    return combine("service", values, weights, scoring.marks, weight_set)
