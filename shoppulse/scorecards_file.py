"""The scorecards YAML file: its schema, validation and loading into a :class:`ScorecardConfig`.

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
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shoppulse.scorecard_config import (
    DEFAULT_MARKS,
    WEIGHT_SUM_TOLERANCE,
    HourRange,
    Role,
    RoleWeights,
    ScorecardConfig,
    ScoreMark,
    StoreScoring,
    WeightSet,
)
from shoppulse.yaml_validation import (
    StrictSpec,
    check_timezone,
    describe_validation_error,
    parse_yaml_mapping,
)


class ScorecardConfigError(ValueError):
    """A scorecard configuration that does not validate; the message names the field path."""


class _WeightsSpec(StrictSpec):
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


class _SalesSetsSpec(StrictSpec):
    peak: _SalesWeightsSpec | None = None
    off_peak: _SalesWeightsSpec | None = None


class _ServiceSetsSpec(StrictSpec):
    peak: _ServiceWeightsSpec | None = None
    off_peak: _ServiceWeightsSpec | None = None


class _RolesSpec(StrictSpec):
    sales: _SalesSetsSpec = _SalesSetsSpec()
    service: _ServiceSetsSpec = _ServiceSetsSpec()


class _MarkSpec(StrictSpec):
    mark: float | None = Field(default=None, allow_inf_nan=False)
    zero_at: float | None = Field(default=None, allow_inf_nan=False)


class _MarksSpec(StrictSpec):
    gmv_attainment: _MarkSpec | None = None
    gross_margin: _MarkSpec | None = None
    new_customer_conversion: _MarkSpec | None = None
    repeat_purchase_rate: _MarkSpec | None = None
    csat_share: _MarkSpec | None = None
    resolution_rate: _MarkSpec | None = None
    first_response_p90_s: _MarkSpec | None = None
    escalation_rate: _MarkSpec | None = None


class _ScopeSpec(StrictSpec):
    timezone: str | None = None
    peak_hours: list[str] | None = None
    weights: _RolesSpec = _RolesSpec()
    marks: _MarksSpec = _MarksSpec()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value)

    @field_validator("peak_hours")
    @classmethod
    def _hours(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            HourRange.parse(text)
        return value


class _FileSpec(StrictSpec):
    defaults: _ScopeSpec = _ScopeSpec()
    stores: dict[str, _ScopeSpec] = Field(default_factory=dict)


def load_scorecard_config(text: str) -> ScorecardConfig:
    """Parse and validate a scorecard YAML document; an empty one gives the defaults.

    >>> from shoppulse.scorecard_config import ARTICLE_SALES_WEIGHTS
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
    shoppulse.scorecards_file.ScorecardConfigError: defaults.weights.service.peak: weights must sum to 1 (within 1e-9), got 1.1
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
