"""The same window yesterday and last week, for ``GET /api/v1/kpis``: pure, no IO.

:func:`compare` shifts a rollup's ``[start, end)`` back by 1 day and by 7 days and
rolls the view up over each shifted range with the same rules (a single store's
single minute stays exact, as for ``1m``). A comparison whose range reaches before
the view's retention cutoff, or holds no minute of the store, has every KPI null
and says why in its notes: "no minutes held" means the store had no traffic then,
or the API never read them (the ``shoppulse.kpis`` topic's retention on the broker
must reach back 8 days for ``last_week``; see :mod:`api.view`).

>>> from api.view import KpiView
>>> from shoppulse.snapshot import KpiSnapshot
>>> now = 1_714_564_830_000  # 2024-05-01T12:00:30Z
>>> minute = now - now % 60_000
>>> view = KpiView(clock=lambda: now)
>>> def snap(start, paid):
...     return KpiSnapshot(store_id="s1", window_start_ms=start, window_end_ms=start + 60_000,
...         final=True, revision=1, currency="EUR", emitted_at_ms=start + 60_000,
...         components={"orders_paid": paid, "gmv_minor": 1000 * paid})
>>> for start, paid in ((minute, 3), (minute - DAY_MS, 2)):
...     _ = view.apply(snap(start, paid))
>>> out = compare(view, view.rollup("s1", "5m"))
>>> out.values["yesterday"]["orders"], out.values["last_week"]["orders"]
(2.0, None)
>>> out.windows["last_week"]["notes"]
["last_week: no minutes of store 's1' held for 2024-04-24T11:56:00.000Z to 2024-04-24T12:01:00.000Z (no traffic then, or never read from shoppulse.kpis)"]
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from api.clock import DAY_MS
from api.rollups import ALL_STORES, Rollup
from api.view import KpiView
from shoppulse.kpis import REGISTRY
from shoppulse.timeutil import format_ts_ms

COMPARISONS: Final[tuple[tuple[str, int], ...]] = (
    ("yesterday", DAY_MS),
    ("last_week", 7 * DAY_MS),
)
"""Each comparison's name and how far back it shifts the window."""


@dataclass(frozen=True, slots=True)
class Comparisons:
    """KPI values per comparison, and each compared window's bounds, minutes and notes."""

    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    windows: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Every comparison's notes, in order."""
        return [n for w in self.windows.values() for n in w["notes"]]


def compare(view: KpiView, current: Rollup) -> Comparisons:
    """``current``'s window 1 day and 7 days earlier, rolled up the same way."""
    out = Comparisons()
    cutoff = view.cutoff_ms()
    for name, shift_ms in COMPARISONS:
        start, end = current.start_ms - shift_ms, current.end_ms - shift_ms
        notes: list[str] = []
        minutes = 0
        values: dict[str, float | None] = dict.fromkeys((k.name for k in REGISTRY), None)
        span = f"{format_ts_ms(start)} to {format_ts_ms(end)}"
        if start < cutoff:
            notes.append(
                f"{name}: {span} starts before the view's retention cutoff "
                f"{format_ts_ms(cutoff)}; not held"
            )
        else:
            rollup = view.rollup_between(current.store_id, start, end, window=current.window)
            minutes = rollup.minutes
            if minutes == 0:
                whose = (
                    "any store" if current.store_id == ALL_STORES else f"store {current.store_id!r}"
                )
                notes.append(
                    f"{name}: no minutes of {whose} held for {span} "
                    "(no traffic then, or never read from shoppulse.kpis)"
                )
            else:
                values.update(rollup.kpis)
                notes.extend(f"{name}: {n}" for n in rollup.notes)
        out.values[name] = values
        out.windows[name] = {
            "window_start": format_ts_ms(start),
            "window_end": format_ts_ms(end),
            "window_start_ms": start,
            "window_end_ms": end,
            "shift_days": shift_ms // DAY_MS,
            "minutes": minutes,
            "notes": notes,
        }
    return out


__all__ = ["COMPARISONS", "Comparisons", "compare"]
