from __future__ import annotations

import math
from functools import reduce

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoppulse.histogram import FIRST_RESPONSE_S, FULFILMENT_H, BucketSpec, Histogram

# Deterministic in CI: the same examples every run, no example database, no deadline.
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=200)

specs = st.sampled_from([FIRST_RESPONSE_S, FULFILMENT_H])


def durations(spec: BucketSpec) -> st.SearchStrategy[float]:
    """Values on the spec's tick grid (so quantization is exact), bounds and their neighbours."""
    tick = 1 / spec.ticks_per_unit
    top = int(spec.bounds[-1] * 1.5 * spec.ticks_per_unit)
    return st.one_of(
        st.integers(0, top).map(lambda ticks: ticks / spec.ticks_per_unit),
        st.sampled_from(spec.bounds).map(float),
        st.sampled_from(spec.bounds).map(lambda b: b + tick),
        st.sampled_from(spec.bounds).map(lambda b: b - tick),
    )


value_lists = st.lists(durations(FIRST_RESPONSE_S), max_size=80)


def histogram(values: list[float], spec: BucketSpec = FIRST_RESPONSE_S) -> Histogram:
    h = Histogram(spec)
    for value in values:
        h.observe(value)
    return h


# -- specs ---------------------------------------------------------------------------


def test_specs() -> None:
    assert 30 in FIRST_RESPONSE_S.bounds
    assert FIRST_RESPONSE_S.unit == "s"
    assert FULFILMENT_H.unit == "h"
    for spec in (FIRST_RESPONSE_S, FULFILMENT_H):
        assert list(spec.bounds) == sorted(set(spec.bounds))
        assert spec.size == len(spec.bounds) + 1
        assert len(Histogram(spec).counts) == len(spec.bounds) + 1
        assert spec.upper(spec.size - 1) == math.inf


@pytest.mark.parametrize(
    ("bounds", "ticks_per_unit", "message"),
    [
        ((), 1000, "at least one"),
        ((0, 1), 1000, "positive"),
        ((1, math.inf), 1000, "finite"),
        ((1, math.nan), 1000, "finite"),
        ((2, 2), 1000, "ascending"),
        ((3, 1), 1000, "ascending"),
        ((1,), 0, "ticks_per_unit"),
        ((1.0005,), 1000, "whole number of ticks"),
    ],
)
def test_bucket_spec_validation(
    bounds: tuple[float, ...], ticks_per_unit: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BucketSpec("bad", bounds, "s", ticks_per_unit=ticks_per_unit)


def test_a_value_at_a_bound_belongs_to_that_bucket() -> None:
    spec = FIRST_RESPONSE_S
    i30 = spec.bounds.index(30)
    assert spec.bucket_index(30) == i30
    assert spec.bucket_index(30.001) == i30 + 1
    assert spec.bucket_index(0) == 0
    assert spec.bucket_index(1e9) == spec.size - 1
    # quantized to 1 ms first: within half a tick of the bound counts as at the bound
    assert spec.bucket_index(30.0004) == i30
    assert spec.bucket_index(30.0006) == i30 + 1


@pytest.mark.parametrize("bad", [-0.001, -1, math.nan, math.inf, -math.inf])
def test_observe_rejects_negative_and_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        Histogram(FIRST_RESPONSE_S).observe(bad)
    with pytest.raises(ValueError, match=">= 0"):
        Histogram(FIRST_RESPONSE_S).observe_ticks(-1)


def test_observe_ticks_is_exact_milliseconds() -> None:
    h = Histogram(FULFILMENT_H)
    h.observe_ticks(3_600_000)  # exactly 1 h
    h.observe_ticks(3_600_001)  # 1 ms over
    assert h.counts[:2] == [1, 1]
    assert h.sum_ticks == 7_200_001
    assert h.sum == 7_200_001 / 3_600_000


# -- merging -------------------------------------------------------------------------


@DETERMINISTIC
@given(st.lists(value_lists, max_size=6))
def test_merge_equals_histogram_of_the_concatenation(parts: list[list[float]]) -> None:
    merged = reduce(Histogram.merge, (histogram(p) for p in parts), Histogram(FIRST_RESPONSE_S))
    whole = histogram([v for p in parts for v in p])
    assert merged == whole
    assert merged.counts == whole.counts
    assert merged.sum_ticks == whole.sum_ticks
    assert merged.total == sum(len(p) for p in parts)


@DETERMINISTIC
@given(st.data(), specs)
def test_merge_is_commutative_and_associative(data: st.DataObject, spec: BucketSpec) -> None:
    a, b, c = (histogram(data.draw(st.lists(durations(spec), max_size=40)), spec) for _ in "abc")
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(Histogram(spec)) == a


def test_in_place_merge_and_operands() -> None:
    a, b = histogram([1, 2, 40]), histogram([31, 2_000])
    b_before = b.to_list()
    expected = a | b
    alias = a
    a |= b
    assert a is alias
    assert a == expected
    assert b.to_list() == b_before
    c = histogram([1, 2, 40])
    c.merge_into(b)
    assert c == expected


def test_merge_needs_the_same_spec() -> None:
    with pytest.raises(ValueError, match="cannot merge"):
        Histogram(FIRST_RESPONSE_S).merge(Histogram(FULFILMENT_H))


def test_sum_is_exact_whatever_the_merge_order() -> None:
    # A float sum would differ between these orders; int ticks do not.
    values = [0.1, 0.2, 0.3, 1e3, 0.001] * 20
    forward = reduce(Histogram.merge, (histogram([v]) for v in values))
    backward = reduce(Histogram.merge, (histogram([v]) for v in reversed(values)))
    assert forward.sum_ticks == backward.sum_ticks == 20 * 1_000_601
    assert forward.sum == 20 * 1000.601


# -- reading -------------------------------------------------------------------------


@DETERMINISTIC
@given(value_lists)
def test_share_at_or_below_30_is_exact(values: list[float]) -> None:
    h = histogram(values)
    exact = sum(v <= 30 for v in values)
    assert h.count_at_or_below(30) == exact
    if values:
        assert h.share_at_or_below(30) == exact / len(values)
    else:
        assert h.share_at_or_below(30) is None


@DETERMINISTIC
@given(st.data(), specs)
def test_share_is_exact_at_every_bound(data: st.DataObject, spec: BucketSpec) -> None:
    values = data.draw(st.lists(durations(spec), min_size=1, max_size=60))
    h = histogram(values, spec)
    for bound in spec.bounds:
        assert h.share_at_or_below(bound) == sum(v <= bound for v in values) / len(values)


@pytest.mark.parametrize("bound", [29, 30.5, 0, 1e9, math.inf])
def test_share_at_a_non_bound_is_an_error(bound: float) -> None:
    with pytest.raises(ValueError, match="is not a bound"):
        histogram([1, 2]).share_at_or_below(bound)


@DETERMINISTIC
@given(st.data(), specs, st.floats(0, 1))
def test_quantile_lies_in_the_bucket_of_the_true_quantile(
    data: st.DataObject, spec: BucketSpec, q: float
) -> None:
    values = sorted(data.draw(st.lists(durations(spec), min_size=1, max_size=60)))
    h = histogram(values, spec)
    estimate = h.quantile(q)
    assert estimate is not None
    # the sample quantile: the smallest value with at least q * n values at or below it
    true = values[max(math.ceil(q * len(values)), 1) - 1]
    bucket = spec.bucket_index(true)
    lower, upper = spec.lower(bucket), spec.upper(bucket)
    assert lower <= estimate <= upper
    if math.isinf(upper):
        assert estimate == lower <= true  # overflow: a lower bound
    else:
        assert abs(estimate - true) <= upper - lower


@DETERMINISTIC
@given(value_lists.filter(bool), st.floats(0, 1), st.floats(0, 1))
def test_quantile_is_monotonic(values: list[float], q1: float, q2: float) -> None:
    h = histogram(values)
    lo, hi = sorted((q1, q2))
    a, b = h.quantile(lo), h.quantile(hi)
    assert a is not None
    assert b is not None
    assert a <= b


def test_quantile_examples() -> None:
    h = histogram([12, 14])  # both in (10, 15]
    assert h.quantile(0) == 10.0  # lower edge of the first non-empty bucket
    assert h.quantile(0.5) == 12.5
    assert h.quantile(1) == 15.0
    assert histogram([2_000, 5_000]).quantile(0.9) == 1800.0  # overflow: last bound
    assert histogram([0, 0]).quantile(0.5) == 2.5  # first bucket is [0, 5]
    assert Histogram(FIRST_RESPONSE_S).quantile(0.5) is None
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match="within"):
            h.quantile(bad)


def test_total_sum_and_mean() -> None:
    h = histogram([1.5, 2.5, 60])
    assert (h.total, h.sum_ticks, h.sum, h.mean()) == (3, 64_000, 64.0, 64 / 3)
    assert Histogram(FULFILMENT_H).mean() is None


# -- serialization -------------------------------------------------------------------


@DETERMINISTIC
@given(st.data(), specs)
def test_list_form_round_trips_through_json(data: st.DataObject, spec: BucketSpec) -> None:
    h = histogram(data.draw(st.lists(durations(spec), max_size=60)), spec)
    raw = h.to_list()
    assert raw == [*h.counts, h.sum_ticks]
    back = Histogram.from_list(spec, orjson.loads(orjson.dumps(raw)))
    assert back == h
    assert back.to_list() == raw


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([0] * 14, "expected 15"),
        ([0] * 16, "expected 15"),
        ([0] * 13 + [-1, 0], "non-negative ints"),
        ([0] * 13 + [1.0, 0], "non-negative ints"),
        ([0] * 13 + [True, 0], "non-negative ints"),
        ([0] * 14 + [5], "zero sum"),
    ],
)
def test_from_list_rejects_malformed_input(data: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Histogram.from_list(FIRST_RESPONSE_S, data)


def test_from_list_copies_its_input() -> None:
    raw = [1] + [0] * 13 + [1_000]
    h = Histogram.from_list(FIRST_RESPONSE_S, raw)
    raw[0] = 99
    assert h.counts[0] == 1


def test_equality_and_repr() -> None:
    assert histogram([1]) != histogram([2])  # same bucket, different sum
    assert histogram([1]) != histogram([1], FULFILMENT_H)
    assert histogram([1]) != [1]
    with pytest.raises(TypeError):
        hash(histogram([1]))
    assert "first_response_s" in repr(histogram([1]))
    assert histogram([1]).copy() == histogram([1])
