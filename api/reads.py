"""Reading the view for REST: copy on the event loop, compute in a worker thread.

The Kafka feed changes the :class:`~api.view.KpiView` on the event loop, so a handler must
not read it from a threadpool thread (a ``def`` route) while the feed runs: an eviction or
a new minute between two of its reads breaks them. As :meth:`api.metrics.KpiSampler.refresh`
does for ``/metrics``, :meth:`ViewReader.read` takes a frozen copy of the minutes a request
needs on the loop (:meth:`~api.view.KpiView.frozen`: references, no recomputation) and runs
the rollups on that copy in a worker thread, so the loop only waits for the copy. Rollups of
long windows come from a cache of sealed blocks (:class:`~api.rollup_cache.CachedRollups`),
so the wall page's ``today`` of all stores, polled every 15 s, decodes only the open minutes.

>>> import asyncio
>>> from api.view import KpiView
>>> reader = ViewReader(KpiView(clock=lambda: 1_714_564_830_000))
>>> asyncio.run(reader.read([(0, 1)], lambda v: v.clock()))
1714564830000
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TypeVar

from api.comparisons import COMPARISONS
from api.rollup_cache import CachedRollups
from api.view import KpiView

T = TypeVar("T")
Span = tuple[int, int]


def with_comparisons(start_ms: int, end_ms: int) -> list[Span]:
    """``[start_ms, end_ms)`` and the same range shifted back by each comparison.

    >>> with_comparisons(86_400_000 * 8, 86_400_000 * 8 + 60_000)[1]
    (604800000, 604860000)
    """
    return [(start_ms, end_ms)] + [(start_ms - s, end_ms - s) for _, s in COMPARISONS]


class ViewReader:
    """The view's reads for REST handlers; see the module docstring."""

    def __init__(self, view: KpiView, rollups: CachedRollups | None = None) -> None:
        self.view = view
        self.rollups = rollups if rollups is not None else CachedRollups(view.window_ms)

    async def read(self, spans: Iterable[Span], compute: Callable[[KpiView], T]) -> T:
        """``compute`` over a frozen copy holding the minutes in ``spans`` (and every store's
        latest), run in a worker thread. Call it on the event loop."""
        frozen = self.view.frozen(spans, rollups=self.rollups)
        return await asyncio.to_thread(compute, frozen)


__all__ = ["ViewReader", "with_comparisons"]
