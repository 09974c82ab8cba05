"""A minute's KPIs derived from its components only when first read.

Holders of many minutes (the API's packed minutes, the detection benchmark) give a
:class:`~shoppulse.snapshot.KpiSnapshot` these instead of a dict, so minutes nobody reads the
KPIs of never derive them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from shoppulse.kpis import derive_kpis


class LazyKpis(Mapping[str, float | None]):
    """:func:`shoppulse.kpis.derive_kpis` of the components, computed on first read.

    >>> kpis = LazyKpis({"orders_paid": 2, "sessions": 40}, 60_000)
    >>> bool(kpis), kpis["payment_conversion"]
    (True, 0.05)
    """

    __slots__ = ("_components", "_kpis", "_window_ms")

    def __init__(self, components: Mapping[str, int], window_ms: int) -> None:
        self._components = components
        self._window_ms = window_ms
        self._kpis: Mapping[str, float | None] | None = None

    def _get(self) -> Mapping[str, float | None]:
        if self._kpis is None:
            self._kpis = derive_kpis(self._components, self._window_ms)
        return self._kpis

    def __bool__(self) -> bool:
        return True  # so that KpiSnapshot does not derive them eagerly

    def __getitem__(self, key: str) -> float | None:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())
