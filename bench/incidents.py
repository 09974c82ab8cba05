"""The incidents ``shoppulse bench-detect`` injects: kinds, effects and where they fall.

Every incident lasts :data:`INCIDENT_MINUTES` (60) minutes. An incident store carries one
kind, on **every other measured day** (the first one of the two chosen at random, so that a
clean day separates two incidents), each time from a **random minute of the day** (00:00 to
23:00: nights too, where a small store may not show it at all; the oracle sees the same).

=====================  ==========================  ====================================
kind                   effect in the window        detector that should catch it
=====================  ==========================  ====================================
conversion_drop_20/30  sessions pay x0.8 / x0.7    conversion_drop
conversion_drop_50     sessions pay x0.5           conversion_drop
checkout_outage        no payment lands            checkout_outage
chat_surge             chats x3, slow share x5     first_response_spike
traffic_spike          session rate x3             traffic_spike
traffic_drop           session rate x0.5           traffic_drop
gmv_dip                40 % of payments fail       gmv_dip
=====================  ==========================  ====================================

A conversion drop acts on the sessions of the window (fewer of them check out and pay);
an outage and a GMV dip act on the payments that land in the window (checkouts go on).

>>> rng = np.random.default_rng(3)
>>> starts = incident_starts(days=8, warmup_days=2, rng=rng)
>>> [s // DAY_MINUTES for s in starts] in ([2, 4, 6], [3, 5, 7])
True
>>> all(0 <= s % DAY_MINUTES <= DAY_MINUTES - INCIDENT_MINUTES for s in starts)
True
>>> fx = effects(8 * DAY_MINUTES, [("traffic_drop", starts[0])])
>>> float(fx.traffic[starts[0]]), float(fx.traffic[starts[0] + INCIDENT_MINUTES])
(0.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

DAY_MINUTES: Final = 1440
INCIDENT_MINUTES: Final = 60
AFTERMATH_MINUTES: Final = 30
"""Firing transitions this long after an incident's end still belong to it."""

IncidentKind = Literal[
    "conversion_drop_20",
    "conversion_drop_30",
    "conversion_drop_50",
    "checkout_outage",
    "chat_surge",
    "traffic_spike",
    "traffic_drop",
    "gmv_dip",
]


@dataclass(frozen=True, slots=True)
class IncidentType:
    kind: IncidentKind
    detector: str
    """The detector that should catch it."""
    change: float
    """True relative change δ of the watched series (negative: a drop)."""
    title: str


INCIDENT_TYPES: Final[dict[str, IncidentType]] = {
    t.kind: t
    for t in (
        IncidentType("conversion_drop_20", "conversion_drop", -0.2, "conversion -20%"),
        IncidentType("conversion_drop_30", "conversion_drop", -0.3, "conversion -30%"),
        IncidentType("conversion_drop_50", "conversion_drop", -0.5, "conversion -50%"),
        IncidentType("checkout_outage", "checkout_outage", -1.0, "checkout outage"),
        IncidentType("chat_surge", "first_response_spike", 4.0, "chat surge"),
        IncidentType("traffic_spike", "traffic_spike", 2.0, "traffic spike x3"),
        IncidentType("traffic_drop", "traffic_drop", -0.5, "traffic drop -50%"),
        IncidentType("gmv_dip", "gmv_dip", -0.4, "GMV dip -40%"),
    )
}
KINDS: Final[tuple[IncidentKind, ...]] = tuple(t.kind for t in INCIDENT_TYPES.values())

_CHAT_VOLUME: Final = 3.0
_SLOW_SHARE: Final = 5.0


@dataclass(frozen=True, slots=True)
class Incident:
    kind: IncidentKind
    store: str
    start: int
    """First minute (index into the store's series)."""
    end: int
    """Minute after the last one."""
    expected: FloatArray
    """True expectation of the watched series per minute of ``[start, end)`` without the
    incident (for a rate, given the observed denominators)."""
    change: float
    """True relative change of the watched series."""


@dataclass(frozen=True, slots=True)
class Effects:
    """Per-minute multipliers of the generator's parameters (1 outside incidents)."""

    traffic: FloatArray
    """Session rate."""
    conversion: FloatArray
    """Probability that a session of the minute checks out and pays."""
    payment: FloatArray
    """Share of the payments landing in the minute that succeed."""
    chat_volume: FloatArray
    slow_share: FloatArray


def incident_starts(days: int, warmup_days: int, rng: np.random.Generator) -> list[int]:
    """Start minutes: every other measured day from a random first one (of the first two),
    at a random minute in ``[00:00, 23:00]``. Draws one number of ``rng``, then one per start."""
    first = warmup_days + int(rng.integers(0, 2))
    chosen = list(range(first, days, 2)) or [warmup_days]
    offsets = rng.integers(0, DAY_MINUTES - INCIDENT_MINUTES + 1, size=len(chosen))
    return [d * DAY_MINUTES + int(o) for d, o in zip(chosen, offsets, strict=True)]


def effects(minutes: int, plan: Sequence[tuple[IncidentKind, int]]) -> Effects:
    """The multipliers of ``(kind, start minute)`` incidents over ``minutes`` minutes."""
    fx = Effects(*(np.ones(minutes) for _ in range(5)))
    for kind, start in plan:
        w = slice(start, start + INCIDENT_MINUTES)
        if kind.startswith("conversion_drop"):
            fx.conversion[w] *= 1.0 + INCIDENT_TYPES[kind].change
        elif kind == "checkout_outage":
            fx.payment[w] = 0.0
        elif kind == "gmv_dip":
            fx.payment[w] *= 1.0 + INCIDENT_TYPES[kind].change
        elif kind == "chat_surge":
            fx.chat_volume[w] *= _CHAT_VOLUME
            fx.slow_share[w] *= _SLOW_SHARE
        elif kind in ("traffic_spike", "traffic_drop"):
            fx.traffic[w] *= 1.0 + INCIDENT_TYPES[kind].change
        else:
            raise ValueError(f"unknown incident kind {kind!r}")
    return fx
