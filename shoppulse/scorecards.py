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
(missing) while less than :data:`shoppulse.targets.MIN_EXPECTED_SHARE` of the day's GMV is
expected, as early pace is noise.

A missing input (``None``: no chats this hour, no cost data, no target) is left out of the
total, the other weights are renormalized, and its name is listed in ``missing``; when
every input is missing the total is ``None``. The service scorecard is computed the same
way per store and per agent (feed it that agent's KPIs).

The YAML format (``config/scorecards.example.yaml``); every key is optional::

    defaults:
      timezone: Europe/Berlin            # the stores' local time, for peak hours; UTC
      peak_hours: ["10:00-14:00", "19:00-23:00"]   # local, end exclusive; may wrap midnight
      weights:
        sales:
          peak:     {gmv_attainment: 0.35, gross_margin: 0.20,
                     new_customer_conversion: 0.20, repeat_purchase_rate: 0.25}
          off_peak: {gmv_attainment: 0.25, gross_margin: 0.30,
                     new_customer_conversion: 0.20, repeat_purchase_rate: 0.25}
        service:
          peak:     {csat_share: 0.30, resolution_rate: 0.30,
                     first_response_p90_s: 0.30, escalation_rate: 0.10}
      marks:
        gross_margin: {mark: 0.35}
        first_response_p90_s: {mark: 20, zero_at: 90}
    stores:
      store-002:                         # overrides the defaults for one store
        timezone: America/New_York
        marks: {gross_margin: {mark: 0.22}}

A weight set names every component of its role, each weight >= 0, summing to 1 within
1e-9; a store's weight set replaces the default set whole, a store's mark replaces the
default field by field.

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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shoppulse.targets import (
    MIN_EXPECTED_SHARE,
    Pace,
    describe_validation_error,
    parse_yaml_mapping,
)

Role = Literal["sales", "service"]
WeightSetName = Literal["peak", "off_peak"]

SALES_COMPONENTS: Final = (
    "gmv_attainment",
    "gross_margin",
    "new_customer_conversion",
    "repeat_purchase_rate",
)
SERVICE_COMPONENTS: Final = (
    "csat_share",
    "resolution_rate",
    "first_response_p90_s",
    "escalation_rate",
)
COMPONENTS: Final[Mapping[Role, tuple[str, ...]]] = {
    "sales": SALES_COMPONENTS,
    "service": SERVICE_COMPONENTS,
}
WEIGHT_SUM_TOLERANCE: Final = 1e-9


class ScorecardConfigError(ValueError):
    """A scorecard configuration that does not validate; the message names the field path."""


# --- marks and weights --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreMark:
    """Where a component scores 100 (``mark``) and 0 (``zero_at``); linear in between.

    ``mark > zero_at`` means higher is better, ``mark < zero_at`` lower is better.

    >>> ScoreMark(30.0, 120.0).score(75.0), ScoreMark(30.0, 120.0).score(10.0)
    (50.0, 100.0)
    >>> ScoreMark(0.30).score(0.24), ScoreMark(0.30).score(-0.1)
    (80.0, 0.0)
    """

    mark: float
    zero_at: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mark) and math.isfinite(self.zero_at)):
            raise ValueError("mark and zero_at must be finite")
        if self.mark == self.zero_at:
            raise ValueError("mark and zero_at must differ")

    @property
    def higher_is_better(self) -> bool:
        return self.mark > self.zero_at

    def score(self, value: float) -> float:
        """The 0-100 sub-score of ``value``."""
        if not math.isfinite(value):
            raise ValueError(f"cannot score a non-finite value {value!r}")
        fraction = (value - self.zero_at) / (self.mark - self.zero_at)
        return round(100.0 * min(1.0, max(0.0, fraction)), 9)  # round off float noise


#: The built-in marks (see the module docstring's table).
DEFAULT_MARKS: Final[Mapping[str, ScoreMark]] = MappingProxyType(
    {
        "gmv_attainment": ScoreMark(1.0),
        "gross_margin": ScoreMark(0.30),
        "new_customer_conversion": ScoreMark(0.02),
        "repeat_purchase_rate": ScoreMark(0.30),
        "csat_share": ScoreMark(0.90),
        "resolution_rate": ScoreMark(0.90),
        "first_response_p90_s": ScoreMark(30.0, 120.0),
        "escalation_rate": ScoreMark(0.0, 0.20),
    }
)


@dataclass(frozen=True, slots=True)
class WeightSet:
    """One role's component weights: every component, each >= 0, summing to 1 (± 1e-9).

    >>> WeightSet("sales", {"gmv_attainment": 0.5, "gross_margin": 0.5,
    ...                     "new_customer_conversion": 0.0, "repeat_purchase_rate": 0.1})
    Traceback (most recent call last):
    ...
    ValueError: sales weights must sum to 1, got 1.1
    """

    role: Role
    weights: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        expected = set(COMPONENTS[self.role])
        if set(self.weights) != expected:
            missing = sorted(expected - set(self.weights))
            extra = sorted(set(self.weights) - expected)
            raise ValueError(
                f"{self.role} weights need exactly {list(COMPONENTS[self.role])}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else "")
            )
        for name, w in self.weights.items():
            if not (math.isfinite(w) and w >= 0):
                raise ValueError(f"{self.role} weight {name} must be finite and >= 0, got {w}")
        total = math.fsum(self.weights.values())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"{self.role} weights must sum to 1, got {total:.12g}")


#: The article's weights.
ARTICLE_SALES_WEIGHTS: Final = WeightSet(
    "sales",
    {
        "gmv_attainment": 0.30,
        "gross_margin": 0.25,
        "new_customer_conversion": 0.20,
        "repeat_purchase_rate": 0.25,
    },
)
ARTICLE_SERVICE_WEIGHTS: Final = WeightSet(
    "service",
    {
        "csat_share": 0.40,
        "resolution_rate": 0.30,
        "first_response_p90_s": 0.20,
        "escalation_rate": 0.10,
    },
)


@dataclass(frozen=True, slots=True)
class RoleWeights:
    """A role's ``peak`` and ``off_peak`` weight sets."""

    peak: WeightSet
    off_peak: WeightSet

    def get(self, name: WeightSetName) -> WeightSet:
        return self.peak if name == "peak" else self.off_peak


@dataclass(frozen=True, slots=True)
class HourRange:
    """Local wall-clock hours ``[start, end)``, wrapping midnight when ``end <= start``.

    >>> r = HourRange.parse("22:00-02:00")
    >>> r.contains(time(23, 30)), r.contains(time(1, 59)), r.contains(time(2, 0))
    (True, True, False)
    >>> HourRange.parse("10-14").contains(time(14, 0))
    False
    """

    start_min: int
    end_min: int

    @classmethod
    def parse(cls, text: str) -> HourRange:
        """``HH[:MM]-HH[:MM]``; ``24:00`` is allowed as an end."""
        m = _HOUR_RANGE.fullmatch(text.strip())
        if not m:
            raise ValueError(f"not an hour range {text!r}; use e.g. 10:00-14:00")
        start = int(m["h1"]) * 60 + int(m["m1"] or 0)
        end = int(m["h2"]) * 60 + int(m["m2"] or 0)
        if start >= 24 * 60 or end > 24 * 60 or start == end:
            raise ValueError(f"not an hour range {text!r}; use e.g. 10:00-14:00")
        return cls(start, end)

    def contains(self, local_time: time) -> bool:
        minute = local_time.hour * 60 + local_time.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min


_HOUR_RANGE: Final = re.compile(
    r"(?P<h1>\d{1,2})(?::(?P<m1>[0-5]\d))?\s*-\s*"
    r"(?P<h2>\d{1,2})(?::(?P<m2>[0-5]\d))?"
)
DEFAULT_PEAK_HOURS: Final = (HourRange.parse("10:00-14:00"), HourRange.parse("19:00-23:00"))


@dataclass(frozen=True, slots=True)
class StoreScoring:
    """One store's resolved scorecard settings."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    peak_hours: tuple[HourRange, ...] = DEFAULT_PEAK_HOURS
    sales: RoleWeights = RoleWeights(ARTICLE_SALES_WEIGHTS, ARTICLE_SALES_WEIGHTS)
    service: RoleWeights = RoleWeights(ARTICLE_SERVICE_WEIGHTS, ARTICLE_SERVICE_WEIGHTS)
    marks: Mapping[str, ScoreMark] = field(default_factory=lambda: dict(DEFAULT_MARKS))

    def weight_set_at(self, now: datetime) -> WeightSetName:
        """``peak`` when the store's local time at ``now`` (aware) is in a peak range.

        >>> from datetime import UTC
        >>> s = StoreScoring(ZoneInfo("Asia/Tokyo"))
        >>> s.weight_set_at(datetime(2024, 6, 5, 3, 0, tzinfo=UTC))  # 12:00 in Tokyo
        'peak'
        >>> s.weight_set_at(datetime(2024, 6, 5, 12, 0, tzinfo=UTC))  # 21:00 in Tokyo
        'peak'
        >>> s.weight_set_at(datetime(2024, 6, 5, 7, 0, tzinfo=UTC))  # 16:00 in Tokyo
        'off_peak'
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")
        local = now.astimezone(self.timezone).time()
        return "peak" if any(r.contains(local) for r in self.peak_hours) else "off_peak"

    def weights(self, role: Role, name: WeightSetName) -> WeightSet:
        return (self.sales if role == "sales" else self.service).get(name)


@dataclass(frozen=True, slots=True)
class ScorecardConfig:
    """Default scoring settings and per-store overrides; :meth:`for_store` resolves."""

    defaults: StoreScoring = field(default_factory=StoreScoring)
    stores: Mapping[str, StoreScoring] = field(default_factory=dict)

    def for_store(self, store_id: str) -> StoreScoring:
        return self.stores.get(store_id, self.defaults)


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
        """Take GMV attainment and expected share from :func:`shoppulse.targets.pace`."""
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


# --- YAML ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _WeightsSpec(_Strict):
    """Base: the sum check for a weight set's fields."""

    @model_validator(mode="after")
    def _sums_to_one(self) -> _WeightsSpec:
        total = math.fsum(float(v) for v in self.model_dump().values())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"weights must sum to 1 (within 1e-9), got {total:.12g}")
        return self


class _SalesWeightsSpec(_WeightsSpec):
    gmv_attainment: float = Field(ge=0, allow_inf_nan=False)
    gross_margin: float = Field(ge=0, allow_inf_nan=False)
    new_customer_conversion: float = Field(ge=0, allow_inf_nan=False)
    repeat_purchase_rate: float = Field(ge=0, allow_inf_nan=False)


class _ServiceWeightsSpec(_WeightsSpec):
    csat_share: float = Field(ge=0, allow_inf_nan=False)
    resolution_rate: float = Field(ge=0, allow_inf_nan=False)
    first_response_p90_s: float = Field(ge=0, allow_inf_nan=False)
    escalation_rate: float = Field(ge=0, allow_inf_nan=False)


class _SalesSetsSpec(_Strict):
    peak: _SalesWeightsSpec | None = None
    off_peak: _SalesWeightsSpec | None = None


class _ServiceSetsSpec(_Strict):
    peak: _ServiceWeightsSpec | None = None
    off_peak: _ServiceWeightsSpec | None = None


class _RolesSpec(_Strict):
    sales: _SalesSetsSpec = _SalesSetsSpec()
    service: _ServiceSetsSpec = _ServiceSetsSpec()


class _MarkSpec(_Strict):
    mark: float | None = Field(default=None, allow_inf_nan=False)
    zero_at: float | None = Field(default=None, allow_inf_nan=False)


class _MarksSpec(_Strict):
    gmv_attainment: _MarkSpec | None = None
    gross_margin: _MarkSpec | None = None
    new_customer_conversion: _MarkSpec | None = None
    repeat_purchase_rate: _MarkSpec | None = None
    csat_share: _MarkSpec | None = None
    resolution_rate: _MarkSpec | None = None
    first_response_p90_s: _MarkSpec | None = None
    escalation_rate: _MarkSpec | None = None


class _ScopeSpec(_Strict):
    timezone: str | None = None
    peak_hours: list[str] | None = None
    weights: _RolesSpec = _RolesSpec()
    marks: _MarksSpec = _MarksSpec()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
                raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Berlin") from None
        return value

    @field_validator("peak_hours")
    @classmethod
    def _hours(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            HourRange.parse(text)
        return value


class _FileSpec(_Strict):
    defaults: _ScopeSpec = _ScopeSpec()
    stores: dict[str, _ScopeSpec] = Field(default_factory=dict)


def load_scorecard_config(text: str) -> ScorecardConfig:
    """Parse and validate a scorecard YAML document; an empty one gives the defaults.

    >>> load_scorecard_config("").defaults.sales.peak == ARTICLE_SALES_WEIGHTS
    True
    >>> load_scorecard_config('''
    ... defaults:
    ...   weights:
    ...     service:
    ...       peak: {csat_share: 0.5, resolution_rate: 0.3,
    ...              first_response_p90_s: 0.2, escalation_rate: 0.1}
    ... ''')
    Traceback (most recent call last):
    ...
    shoppulse.scorecards.ScorecardConfigError: defaults.weights.service.peak: weights must sum to 1 (within 1e-9), got 1.1
    """  # noqa: E501
    if not text.strip():
        return ScorecardConfig()
    try:
        data = parse_yaml_mapping(text, "scorecards")
        spec = _FileSpec.model_validate(data)
    except ValidationError as exc:
        raise ScorecardConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:
        raise ScorecardConfigError(str(exc)) from None
    base = _resolve_scope(StoreScoring(), spec.defaults, "defaults")
    stores = {sid: _resolve_scope(base, s, f"stores.{sid}") for sid, s in spec.stores.items()}
    return ScorecardConfig(base, stores)


def _resolve_scope(base: StoreScoring, spec: _ScopeSpec, path: str) -> StoreScoring:
    tz = ZoneInfo(spec.timezone) if spec.timezone is not None else base.timezone
    peak_hours = (
        tuple(HourRange.parse(t) for t in spec.peak_hours)
        if spec.peak_hours is not None
        else base.peak_hours
    )
    sales = RoleWeights(
        _weight_set("sales", spec.weights.sales.peak, base.sales.peak),
        _weight_set("sales", spec.weights.sales.off_peak, base.sales.off_peak),
    )
    service = RoleWeights(
        _weight_set("service", spec.weights.service.peak, base.service.peak),
        _weight_set("service", spec.weights.service.off_peak, base.service.off_peak),
    )
    marks = dict(base.marks)
    for name in _MarksSpec.model_fields:
        override: _MarkSpec | None = getattr(spec.marks, name)
        if override is None:
            continue
        old = marks[name]
        mark = old.mark if override.mark is None else override.mark
        zero_at = old.zero_at if override.zero_at is None else override.zero_at
        builtin = DEFAULT_MARKS[name]
        if mark == zero_at or (mark > zero_at) != builtin.higher_is_better:
            relation = "above" if builtin.higher_is_better else "below"
            raise ScorecardConfigError(
                f"{path}.marks.{name}: mark ({mark:g}) must be {relation} zero_at ({zero_at:g})"
                f" for this component"
            )
        marks[name] = ScoreMark(mark, zero_at)
    return StoreScoring(tz, peak_hours, sales, service, marks)


def _weight_set(
    role: Role, spec: _SalesWeightsSpec | _ServiceWeightsSpec | None, base: WeightSet
) -> WeightSet:
    return base if spec is None else WeightSet(role, spec.model_dump())
