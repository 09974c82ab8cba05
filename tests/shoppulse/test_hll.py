from __future__ import annotations

import base64
import random
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoppulse.hll import MAX_PRECISION, MIN_PRECISION, HyperLogLog

# Deterministic in CI: the same examples every run, no example database, no deadline.
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=150)

# A fixed alphabet (ASCII and multi-byte UTF-8) keeps the strategy free of Unicode tables.
items = st.text(alphabet="abcxyz0129-_:éß€🛒", max_size=12)
item_lists = st.lists(items, max_size=120)
precisions = st.integers(MIN_PRECISION, 10)


def sketch(values: list[str], precision: int = 6) -> HyperLogLog:
    h = HyperLogLog(precision)
    h.update(values)
    return h


# -- merging -----------------------------------------------------------------------


@DETERMINISTIC
@given(item_lists, item_lists, item_lists, precisions)
def test_merge_is_commutative_associative_and_idempotent(
    a: list[str], b: list[str], c: list[str], p: int
) -> None:
    x, y, z = sketch(a, p), sketch(b, p), sketch(c, p)
    assert x.merge(y) == y.merge(x)
    assert x.merge(y).merge(z) == x.merge(y.merge(z))
    assert x.merge(x) == x
    assert x.merge(HyperLogLog(p)) == x  # the empty sketch is the identity


@DETERMINISTIC
@given(st.lists(item_lists, max_size=6), precisions)
def test_merge_of_parts_has_exactly_the_registers_of_the_union(
    parts: list[list[str]], p: int
) -> None:
    merged = reduce(HyperLogLog.merge, (sketch(part, p) for part in parts), HyperLogLog(p))
    union = sketch([item for part in parts for item in part], p)
    assert merged.registers == union.registers
    assert merged == union


@DETERMINISTIC
@given(item_lists, item_lists)
def test_in_place_merge_matches_merge_and_leaves_the_other_alone(
    a: list[str], b: list[str]
) -> None:
    x, y = sketch(a), sketch(b)
    expected = x.merge(y)
    y_before = y.registers
    alias = x
    x |= y
    assert x is alias
    assert x == expected
    assert y.registers == y_before
    z = sketch(a)
    z.merge_into(y)
    assert z == expected == sketch(a) | y


def test_merge_copies_and_does_not_mutate_its_operands() -> None:
    a, b = sketch(["a", "b"]), sketch(["c"])
    a_before, b_before = a.registers, b.registers
    merged = a.merge(b)
    assert merged is not a
    assert (a.registers, b.registers) == (a_before, b_before)


def test_merge_needs_equal_precision() -> None:
    a, b = HyperLogLog(10), HyperLogLog(12)
    with pytest.raises(ValueError, match="precision 10 and 12"):
        a.merge(b)
    with pytest.raises(ValueError, match="precision"):
        a |= b


def test_update_equals_repeated_add() -> None:
    values = [f"session-{i}" for i in range(3_000)]
    one_by_one = HyperLogLog()
    for value in values:
        one_by_one.add(value)
    assert one_by_one == sketch(values, 12)


def test_duplicates_do_not_change_the_sketch() -> None:
    assert sketch(["v1", "v2"] * 50) == sketch(["v2", "v1"])


# -- estimating ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 10, 100, 1_000, 50_000])
@pytest.mark.parametrize("prefix", ["visitor-", "s:"])
def test_estimate_is_within_four_standard_errors(n: int, prefix: str) -> None:
    h = HyperLogLog()
    h.update(f"{prefix}{i}" for i in range(n))
    assert abs(h.estimate() - n) <= 4 * h.relative_standard_error * n
    assert abs(h.count() - n) <= 4 * h.relative_standard_error * n


@pytest.mark.parametrize("precision", [MIN_PRECISION, 8, 14, MAX_PRECISION])
def test_estimate_at_other_precisions(precision: int) -> None:
    rng = random.Random(precision)
    ids = {f"{rng.getrandbits(64):016x}" for _ in range(20_000)}
    h = sketch(sorted(ids), precision)
    assert abs(h.estimate() - len(ids)) <= 4 * h.relative_standard_error * len(ids)


def test_empty_sketch_counts_zero() -> None:
    h = HyperLogLog()
    assert h.is_empty()
    assert (h.count(), h.estimate()) == (0, 0.0)


def test_relative_standard_error_and_size() -> None:
    h = HyperLogLog(12)
    assert h.num_registers == 4096
    assert h.relative_standard_error == pytest.approx(1.04 / 64)
    assert HyperLogLog(16).relative_standard_error == pytest.approx(1.04 / 256)


def test_hash_is_pinned_across_processes_and_machines() -> None:
    # Golden values: BLAKE2b-64 of the UTF-8 bytes. If this changes, stored sketches
    # no longer merge with new ones (a new serialization format would be needed).
    h = sketch(["visitor-1", "visitor-2", "session-€"], 4)
    assert h.to_base64() == "RAALAQAMAwAPAg=="
    assert list(h.registers) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 2]


@pytest.mark.parametrize("precision", [3, 17, 0, -1])
def test_precision_out_of_range(precision: int) -> None:
    with pytest.raises(ValueError, match="precision"):
        HyperLogLog(precision)


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(UnicodeEncodeError):
        HyperLogLog().add("\ud800")


# -- serialization -------------------------------------------------------------------


@DETERMINISTIC
@given(st.lists(items, max_size=400), st.integers(MIN_PRECISION, MAX_PRECISION))
def test_base64_round_trips_and_is_canonical(values: list[str], p: int) -> None:
    h = sketch(values, p)
    text = h.to_base64()
    back = HyperLogLog.from_base64(text)
    assert back == h
    assert back.precision == p
    assert back.to_base64() == text
    text.encode("ascii")  # JSON-safe


def test_sparse_and_dense_forms() -> None:
    empty = HyperLogLog(12)
    assert empty.to_base64() == "TA=="  # one header byte
    few = sketch([f"v{i}" for i in range(10)], 12)
    raw_few = base64.b64decode(few.to_base64())
    assert raw_few[0] >> 5 == 2  # sparse
    assert len(raw_few) == 1 + 3 * 10
    many = sketch([f"v{i}" for i in range(5_000)], 12)
    raw_many = base64.b64decode(many.to_base64())
    assert raw_many[0] == (1 << 5 | 12)  # dense
    assert len(raw_many) == 1 + 4096
    assert HyperLogLog.from_base64(many.to_base64()) == many


def test_dense_payload_of_a_sparse_sketch_is_accepted() -> None:
    h = sketch(["a", "b", "c"], 8)
    dense = base64.b64encode(bytes([1 << 5 | 8]) + h.registers).decode()
    assert HyperLogLog.from_base64(dense) == h


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "not base64"),
        ("", "empty"),
        (_b64(bytes([3 << 5 | 12])), "unknown format"),
        (_b64(bytes([1 << 5 | 20])), "precision"),
        (_b64(bytes([1 << 5 | 4]) + bytes(15)), "expected 16"),
        (_b64(bytes([1 << 5 | 4]) + bytes([62] * 16)), "maximum rank 61"),
        (_b64(bytes([2 << 5 | 4, 0, 1])), "whole number"),
        (_b64(bytes([2 << 5 | 4, 0, 2, 1, 0, 1, 1])), "ascending"),
        (_b64(bytes([2 << 5 | 4, 0, 1, 0])), "non-zero"),
        (_b64(bytes([2 << 5 | 4, 0, 16, 1])), "ascending"),  # index >= m
        (_b64(bytes([2 << 5 | 4, 0, 1, 62])), "maximum rank"),
    ],
)
def test_from_base64_rejects_malformed_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HyperLogLog.from_base64(text)


# -- equality ------------------------------------------------------------------------


def test_equality_compares_precision_and_registers() -> None:
    assert HyperLogLog(10) != HyperLogLog(12)
    assert sketch(["a"]) != sketch(["b"])
    assert HyperLogLog() != "HyperLogLog()"
    with pytest.raises(TypeError):
        hash(HyperLogLog())
    assert "precision=12" in repr(HyperLogLog())
    assert sketch(["a"]).copy() == sketch(["a"])
