from __future__ import annotations

from bench.compact_counts import CompactCounts
from shoppulse.components import sum_values
from shoppulse.kpis import derive_kpis


def test_compact_counts_behave_like_the_dict_they_replace() -> None:
    counts = {"orders_paid": 3, "gmv_minor": 4500, "sessions": 60, "visitors": 50}
    compact = CompactCounts.of(counts)
    assert dict(compact) == counts
    assert compact == counts  # Mapping equality
    assert derive_kpis(compact) == derive_kpis(counts)
    assert sum_values([compact, counts]) == sum_values([counts, counts])
    assert compact.get("missing", 7) == 7
    assert CompactCounts.of(compact) is compact


def test_mappings_with_the_same_keys_share_one_index() -> None:
    a = CompactCounts.of({"x": 1, "y": 2})
    b = CompactCounts.of({"x": 5, "y": 6})
    assert a._index is b._index
