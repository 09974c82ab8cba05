"""Fixed-bucket duration histograms that roll up exactly by addition.

A histogram is a count per bucket plus the sum of the observed values, all
integers, so windows and stores merge by adding them (in any order, with the
same result). Buckets are given by ascending upper bounds; a value belongs to
the first bucket whose bound is at or above it, and values above the last bound
fall into an implicit ``+Inf`` overflow bucket. Durations are non-negative, so
the first bucket is ``[0, bounds[0]]`` and bucket ``i`` is
``(bounds[i-1], bounds[i]]``.

**Resolution.** Values are quantized to integer *ticks* (``ticks_per_unit`` per
unit; one tick is 1 ms for both specs below) before they are bucketed and summed:
``sum_ticks`` is an exact int, where a float sum would depend on the order of
addition and so break exact rollups. ``sum`` (in the unit) is derived from it.
Bucketing compares ticks with the bounds in ticks, so a value within half a tick
of a bound counts as at or below it.

**Error bounds.** ``count_at_or_below``/``share_at_or_below`` are exact at a bucket
bound. ``quantile(q)`` interpolates linearly inside the bucket that holds the
sample's q-quantile, so its error is at most that bucket's width; in the overflow
bucket it returns the last bound, a lower bound of the true value.

>>> h = Histogram(FIRST_RESPONSE_S)
>>> for seconds in (3, 12, 28, 30, 31, 400, 2_000):
...     h.observe(seconds)
>>> h.total, h.sum, h.share_at_or_below(30)
(7, 2504.0, 0.5714285714285714)
>>> h.quantile(0.5)  # the median (30 s) lies in (20, 30]: 20 + 10 * (3.5 - 2) / 2
27.5
>>> h.quantile(1.0)  # overflow bucket: its lower bound
1800.0
>>> Histogram.from_list(FIRST_RESPONSE_S, h.to_list()) == h
True
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """Named bucket layout: ascending positive upper ``bounds`` plus an overflow bucket.

    >>> spec = BucketSpec("demo", (1, 2.5), "s")
    >>> spec.size, spec.bucket_index(0), spec.bucket_index(1), spec.bucket_index(1.2)
    (3, 0, 0, 1)
    >>> spec.bucket_index(99), spec.lower(2), spec.upper(2)
    (2, 2.5, inf)
    >>> BucketSpec("bad", (2, 1), "s")
    Traceback (most recent call last):
    ...
    ValueError: BucketSpec 'bad': bounds must be strictly ascending
    """

    name: str
    bounds: tuple[float, ...]
    unit: str
    #: Integer ticks per unit; observations are rounded to ticks, sums are kept in ticks.
    ticks_per_unit: int = 1000
    _bound_ticks: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bounds = self.bounds
        if not bounds:
            raise ValueError(f"BucketSpec {self.name!r}: needs at least one bound")
        if not all(math.isfinite(b) for b in bounds) or bounds[0] <= 0:
            raise ValueError(f"BucketSpec {self.name!r}: bounds must be finite and positive")
        if any(b >= c for b, c in pairwise(bounds)):
            raise ValueError(f"BucketSpec {self.name!r}: bounds must be strictly ascending")
        if self.ticks_per_unit < 1:
            raise ValueError(f"BucketSpec {self.name!r}: ticks_per_unit must be >= 1")
        ticks = tuple(round(b * self.ticks_per_unit) for b in bounds)
        if any(
            not math.isclose(t, b * self.ticks_per_unit) for t, b in zip(ticks, bounds, strict=True)
        ):
            raise ValueError(
                f"BucketSpec {self.name!r}: every bound must be a whole number of ticks"
            )
        object.__setattr__(self, "_bound_ticks", ticks)

    @property
    def size(self) -> int:
        """The number of buckets, the overflow bucket included."""
        return len(self.bounds) + 1

    def to_ticks(self, value: float) -> int:
        """``value`` (in the unit) rounded to ticks; ``ValueError`` if negative or not finite."""
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{self.name}: a duration must be finite and >= 0, got {value!r}")
        return round(value * self.ticks_per_unit)

    def bucket_of_ticks(self, ticks: int) -> int:
        return bisect_left(self._bound_ticks, ticks)

    def bucket_index(self, value: float) -> int:
        """The index of the bucket that holds ``value``."""
        return bisect_left(self._bound_ticks, self.to_ticks(value))

    def lower(self, index: int) -> float:
        """The lower edge of bucket ``index`` (0 for the first bucket)."""
        return 0.0 if index == 0 else float(self.bounds[index - 1])

    def upper(self, index: int) -> float:
        """The upper edge of bucket ``index`` (``inf`` for the overflow bucket)."""
        return math.inf if index == len(self.bounds) else float(self.bounds[index])


#: Time to first agent response in a chat, in seconds (1 tick = 1 ms).
FIRST_RESPONSE_S: Final = BucketSpec(
    "first_response_s",
    (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800),
    "s",
    ticks_per_unit=1_000,
)
#: Time from payment to shipment of an order, in hours (1 tick = 1 ms).
FULFILMENT_H: Final = BucketSpec(
    "fulfilment_h",
    (1, 2, 4, 8, 12, 24, 48, 72, 120, 168),
    "h",
    ticks_per_unit=3_600_000,
)


class Histogram:
    """Counts per bucket of a ``BucketSpec`` and the exact sum of observations, in ticks.

    >>> a, b = Histogram(FULFILMENT_H), Histogram(FULFILMENT_H)
    >>> a.observe(1.5); b.observe(30); b.observe_ticks(200 * 3_600_000)
    >>> merged = a | b
    >>> merged.counts, merged.sum
    ([0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1], 231.5)
    >>> merged.count_at_or_below(24), merged.share_at_or_below(48)
    (1, 0.6666666666666666)
    >>> merged.share_at_or_below(25)
    Traceback (most recent call last):
    ...
    ValueError: 25 is not a bound of fulfilment_h (1, 2, 4, 8, 12, 24, 48, 72, 120, 168)
    """

    __slots__ = ("counts", "spec", "sum_ticks")

    def __init__(self, spec: BucketSpec) -> None:
        self.spec = spec
        #: One count per bucket, ``len(spec.bounds) + 1`` long (the last is the overflow).
        self.counts: list[int] = [0] * spec.size
        #: The exact sum of the observed values, in ticks.
        self.sum_ticks = 0

    # -- feeding -----------------------------------------------------------------

    def observe(self, value: float) -> None:
        """Count one value, in the spec's unit (rounded to ticks first)."""
        self.observe_ticks(self.spec.to_ticks(value))

    def observe_ticks(self, ticks: int) -> None:
        """Count one value given in ticks (exact; e.g. milliseconds for both specs)."""
        if ticks < 0:
            raise ValueError(f"{self.spec.name}: a duration must be >= 0, got {ticks} ticks")
        self.counts[self.spec.bucket_of_ticks(ticks)] += 1
        self.sum_ticks += ticks

    # -- merging -----------------------------------------------------------------

    def merge(self, other: Histogram) -> Histogram:
        """A new histogram of both histograms' observations."""
        out = self.copy()
        out.merge_into(other)
        return out

    def merge_into(self, other: Histogram) -> None:
        """Add ``other``'s observations to this histogram in place."""
        if other.spec != self.spec:
            raise ValueError(
                f"cannot merge histograms of {self.spec.name!r} and {other.spec.name!r}"
            )
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sum_ticks += other.sum_ticks

    def __or__(self, other: object) -> Histogram:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.merge(other)

    def __ior__(self, other: object) -> Histogram:
        if not isinstance(other, Histogram):
            return NotImplemented
        self.merge_into(other)
        return self

    def copy(self) -> Histogram:
        out = Histogram(self.spec)
        out.counts = list(self.counts)
        out.sum_ticks = self.sum_ticks
        return out

    # -- reading -----------------------------------------------------------------

    @property
    def total(self) -> int:
        """The number of observations."""
        return sum(self.counts)

    @property
    def sum(self) -> float:
        """The sum of the observations in the unit (``sum_ticks / ticks_per_unit``)."""
        return self.sum_ticks / self.spec.ticks_per_unit

    def mean(self) -> float | None:
        """The mean observation in the unit; ``None`` when empty."""
        total = self.total
        return None if total == 0 else self.sum / total

    def count_at_or_below(self, bound: float) -> int:
        """How many observations are at or below ``bound``, which must be a bucket bound."""
        try:
            index = self.spec.bounds.index(bound)
        except ValueError:
            raise ValueError(
                f"{bound!r} is not a bound of {self.spec.name} {self.spec.bounds}"
            ) from None
        return sum(self.counts[: index + 1])

    def share_at_or_below(self, bound: float) -> float | None:
        """The exact share of observations at or below the bucket bound ``bound``.

        ``None`` when the histogram is empty; ``ValueError`` when ``bound`` is not
        one of the spec's bounds (the share would not be exact).
        """
        at_or_below = self.count_at_or_below(bound)
        total = self.total
        return None if total == 0 else at_or_below / total

    def quantile(self, q: float) -> float | None:
        """Estimate the ``q``-quantile, ``0 <= q <= 1``; ``None`` when empty.

        The sample quantile is the smallest observation with at least ``q * total``
        observations at or below it (the first one for ``q == 0``). The estimate
        interpolates linearly between the edges of the bucket that holds it, so it
        lies in that bucket and is off by at most the bucket's width. In the
        overflow bucket it is the last bound, a lower bound of the true value.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile q must be within [0, 1], got {q!r}")
        total = self.total
        if total == 0:
            return None
        rank = q * total
        below = 0
        for index, count in enumerate(self.counts):
            if count and below + count >= rank:
                lower, upper = self.spec.lower(index), self.spec.upper(index)
                if math.isinf(upper):
                    return lower
                fraction = max(0.0, (rank - below) / count)
                return min(upper, lower + (upper - lower) * fraction)
            below += count
        raise AssertionError("unreachable: rank <= total")  # pragma: no cover

    # -- serialization -----------------------------------------------------------

    def to_list(self) -> list[int]:
        """``[*counts, sum_ticks]``: plain ints for JSON."""
        return [*self.counts, self.sum_ticks]

    @classmethod
    def from_list(cls, spec: BucketSpec, data: Sequence[int]) -> Histogram:
        """Rebuild from ``to_list``; ``ValueError`` if it does not fit ``spec``."""
        if len(data) != spec.size + 1:
            raise ValueError(
                f"{spec.name}: expected {spec.size + 1} ints (counts and sum), got {len(data)}"
            )
        if not all(type(x) is int and x >= 0 for x in data):
            raise ValueError(f"{spec.name}: counts and sum must be non-negative ints")
        out = cls(spec)
        out.counts = list(data[:-1])
        out.sum_ticks = data[-1]
        if out.total == 0 and out.sum_ticks != 0:
            raise ValueError(f"{spec.name}: an empty histogram must have a zero sum")
        return out

    # -- dunder ------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (
            self.spec == other.spec
            and self.counts == other.counts
            and self.sum_ticks == other.sum_ticks
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Histogram({self.spec.name}, counts={self.counts}, sum={self.sum})"


def component_names(spec: BucketSpec) -> tuple[str, ...]:
    """The additive component names of a flattened histogram: one per bucket, then the sum.

    >>> component_names(BucketSpec("t", (1, 2), "s"))
    ('t_b00', 't_b01', 't_b02', 't_sum_ticks')
    """
    return (*(f"{spec.name}_b{i:02d}" for i in range(spec.size)), f"{spec.name}_sum_ticks")


def to_components(hist: Histogram) -> dict[str, int]:
    """A histogram as additive components (see :func:`component_names`)."""
    return dict(zip(component_names(hist.spec), hist.to_list(), strict=True))


def from_components(spec: BucketSpec, values: Mapping[str, int]) -> Histogram:
    """The histogram held in (possibly summed) components; missing ones count as 0.

    >>> h = Histogram(FIRST_RESPONSE_S); h.observe(12)
    >>> from_components(FIRST_RESPONSE_S, to_components(h)) == h
    True
    """
    return Histogram.from_list(spec, [values.get(name, 0) for name in component_names(spec)])
