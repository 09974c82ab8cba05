"""A compact, read-only mapping of component counts: the API's layout of held minutes before
ADR 25, kept as the baseline that ``shoppulse bench --api-memory`` recreates and measures.

A snapshot's components are a dict of ~80 small integers (a few kilobytes in CPython).
:class:`CompactCounts` keeps the values in one ``array('q')`` and shares the key order
between every mapping with the same keys, which cuts the memory of a held minute by more
than half. It is a drop-in ``Mapping[str, int]``.

>>> c = CompactCounts.of({"orders_paid": 2, "gmv_minor": 3000})
>>> c["gmv_minor"], dict(c), len(c), "x" in c
(3000, {'orders_paid': 2, 'gmv_minor': 3000}, 2, False)
>>> CompactCounts.of({"gmv_minor": 1, "orders_paid": 5}).keys() == c.keys()
True
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from typing import ClassVar


class CompactCounts(Mapping[str, int]):
    """Integer counts in an ``array('q')`` with a shared key index."""

    __slots__ = ("_index", "_values")
    _schemas: ClassVar[dict[tuple[str, ...], dict[str, int]]] = {}

    def __init__(self, index: dict[str, int], values: array[int]) -> None:
        self._index = index
        self._values = values

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> CompactCounts:
        if isinstance(counts, CompactCounts):
            return counts
        keys = tuple(counts)
        index = cls._schemas.get(keys)
        if index is None:
            index = cls._schemas.setdefault(keys, {k: i for i, k in enumerate(keys)})
        return cls(index, array("q", (int(v) for v in counts.values())))

    def __getitem__(self, key: str) -> int:
        return self._values[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"CompactCounts({dict(self)!r})"
