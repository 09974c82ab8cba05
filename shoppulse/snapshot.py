"""The KPI snapshot published to ``shoppulse.kpis``: one store-minute, provisional or final.

>>> snap = KpiSnapshot(store_id="s1", window_start_ms=1_700_000_040_000,
...     window_end_ms=1_700_000_100_000, final=True, revision=3, currency="EUR",
...     components={"orders_paid": 2, "gmv_minor": 3000}, emitted_at_ms=1_700_000_106_000)
>>> again = KpiSnapshot.from_json(snap.to_json())
>>> again == snap, again.kpis["aov_minor"]
(True, 1500.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from shoppulse.kpis import derive_kpis
from shoppulse.timeutil import format_ts_ms


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """One (store, window) snapshot; ``revision`` grows with every publication of the window."""

    store_id: str
    window_start_ms: int
    window_end_ms: int
    final: bool
    revision: int
    currency: str | None
    components: Mapping[str, int]
    emitted_at_ms: int
    kpis: Mapping[str, float | None] = field(default_factory=dict)
    sketches: Mapping[str, str] = field(default_factory=dict)
    """Base64 HyperLogLog sketches of the distinct components (see ``shoppulse.hll``)."""
    agents: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Per-agent service components (see ``shoppulse.service_agents``)."""

    def __post_init__(self) -> None:
        if not self.kpis:
            window_ms = max(self.window_end_ms - self.window_start_ms, 1)
            object.__setattr__(self, "kpis", derive_kpis(self.components, window_ms))

    @property
    def key(self) -> str:
        """The Kafka record key: the store, so one store's snapshots stay in order."""
        return self.store_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "window_start": format_ts_ms(self.window_start_ms),
            "window_end": format_ts_ms(self.window_end_ms),
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            "final": self.final,
            "revision": self.revision,
            "currency": self.currency,
            "components": dict(self.components),
            "kpis": dict(self.kpis),
            "sketches": dict(self.sketches),
            "agents": {agent: dict(counts) for agent, counts in self.agents.items()},
            "emitted_at_ms": self.emitted_at_ms,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiSnapshot:
        return cls(
            store_id=str(data["store_id"]),
            window_start_ms=int(data["window_start_ms"]),
            window_end_ms=int(data["window_end_ms"]),
            final=bool(data["final"]),
            revision=int(data["revision"]),
            currency=data.get("currency"),
            components={str(k): int(v) for k, v in data["components"].items()},
            emitted_at_ms=int(data["emitted_at_ms"]),
            kpis=dict(data.get("kpis") or {}),
            sketches={str(k): str(v) for k, v in (data.get("sketches") or {}).items()},
            agents={
                str(a): {str(k): int(v) for k, v in counts.items()}
                for a, counts in (data.get("agents") or {}).items()
            },
        )

    @classmethod
    def from_json(cls, raw: bytes) -> KpiSnapshot:
        return cls.from_dict(orjson.loads(raw))
