"""Incidents the simulator injects into a store's traffic: a conversion drop, a stock-out, a
chat surge, a traffic spike (:class:`Incident`, parsed from ``KIND:STORE:START:DURATION``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, cast, get_args

from simulator.durations import parse_duration_ms

IncidentKind = Literal["conversion_drop", "stock_out", "chat_surge", "traffic_spike"]
INCIDENT_KINDS: Final[tuple[str, ...]] = get_args(IncidentKind)

#: The factor an incident uses when none is given; see :class:`Incident`.
DEFAULT_INCIDENT_FACTORS: Final[dict[str, float]] = {
    "conversion_drop": 0.5,
    "stock_out": 0.0,
    "chat_surge": 5.0,
    "traffic_spike": 3.0,
}


@dataclass(frozen=True, slots=True)
class Incident:
    """An injected incident for one store (or ``"*"``: every store) in ``[start_ms, end_ms)``.

    ``factor`` by kind (``None`` takes :data:`DEFAULT_INCIDENT_FACTORS`):

    * ``conversion_drop`` — multiplies the probability that a placed order is paid,
      so paid conversion (paid orders / sessions) drops by that factor (0.5 halves it);
    * ``traffic_spike`` — multiplies the session arrival rate (3.0 triples traffic);
    * ``chat_surge`` — multiplies the chat opening rate and the agents' first-response time;
    * ``stock_out`` — the share of the catalogue, best sellers first and at least one SKU,
      whose stock drops to 0 at ``start_ms`` and is restocked at ``end_ms``.

    >>> inc = Incident.parse("conversion_drop:store-001:+10m:30m:0.25", origin_ms=0)
    >>> inc.start_ms, inc.end_ms, inc.factor
    (600000, 2400000, 0.25)
    >>> inc.applies("store-001", 600_000), inc.applies("store-001", 2_400_000)
    (True, False)
    >>> Incident.parse("traffic_spike:*:90s:5m", origin_ms=0).factor
    3.0
    """

    kind: IncidentKind
    store_id: str
    start_ms: int
    end_ms: int
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident kind {self.kind!r}; one of {INCIDENT_KINDS}")
        if self.end_ms <= self.start_ms:
            raise ValueError("an incident must end after it starts")
        if self.factor is None:
            object.__setattr__(self, "factor", DEFAULT_INCIDENT_FACTORS[self.kind])
        elif not (self.factor >= 0 and math.isfinite(self.factor)):
            raise ValueError("an incident factor must be a finite number >= 0")

    @property
    def value(self) -> float:
        """The factor, never ``None``."""
        return DEFAULT_INCIDENT_FACTORS[self.kind] if self.factor is None else self.factor

    def applies(self, store_id: str, ts_ms: int) -> bool:
        return self.start_ms <= ts_ms < self.end_ms and self.store_id in ("*", store_id)

    @classmethod
    def parse(cls, spec: str, origin_ms: int) -> Incident:
        """Parse ``KIND:STORE:START:DURATION[:FACTOR]``.

        ``START`` is an offset from ``origin_ms`` (the simulation start) and ``DURATION``
        a length, both as ``90s``, ``10m``, ``2h``, ``1d``, plain milliseconds, with an
        optional leading ``+`` on ``START``. ``STORE`` is a store id or ``*``.
        """
        parts = spec.split(":")
        if len(parts) not in (4, 5):
            raise ValueError(
                f"incident {spec!r}: expected KIND:STORE:START:DURATION[:FACTOR], "
                "e.g. conversion_drop:store-001:+10m:30m:0.5"
            )
        kind, store, start_text, duration_text = parts[:4]
        if kind not in INCIDENT_KINDS:
            raise ValueError(f"incident {spec!r}: unknown kind {kind!r}; one of {INCIDENT_KINDS}")
        if not store:
            raise ValueError(f"incident {spec!r}: empty store id")
        start_ms = origin_ms + parse_duration_ms(start_text.removeprefix("+"))
        end_ms = start_ms + parse_duration_ms(duration_text)
        factor = float(parts[4]) if len(parts) == 5 else None
        return cls(cast(IncidentKind, kind), store, start_ms, end_ms, factor)
