"""What a role scorecard is scored against: components, marks, weight sets and peak hours.

The built-in marks and weights are the article's (the table in :mod:`shoppulse.scorecards`);
:class:`ScorecardConfig` holds the defaults and per-store overrides, as read from a
scorecards file (:mod:`shoppulse.scorecards_file`).
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


#: The built-in marks (see the table in :mod:`shoppulse.scorecards`).
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
