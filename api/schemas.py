"""Response models of the REST API (they document the JSON in OpenAPI at ``/docs``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RollupOut(BaseModel):
    """Components and KPIs of one store (or ``all``) over a window."""

    store_id: str
    window: str = Field(description="1m, 5m, 1h, today (history points are 1m).")
    window_start: str
    window_end: str
    window_start_ms: int
    window_end_ms: int
    minutes: int = Field(description="How many store-minute snapshots contributed.")
    store_count: int
    final: bool = Field(description="True when every contributing minute is closed (final).")
    revision: int | None = Field(description="The snapshot revision when one minute contributed.")
    currency: str | None
    components: dict[str, int | None]
    kpis: dict[str, float | None]
    unavailable_components: list[str] = Field(
        description="Components that cannot be rolled up exactly here; their values are null."
    )
    unavailable_kpis: list[str] = Field(
        description="KPIs that depend on unavailable components; their values are null."
    )
    notes: list[str]
    approximate_components: list[str] = Field(
        description="Distinct counts estimated by merging HyperLogLog minute sketches."
    )
    relative_standard_error: float | None = Field(
        description="The relative standard error of those estimates (about 1.6%)."
    )


class StoreOut(BaseModel):
    """One store known to the view."""

    store_id: str
    currency: str | None
    minutes: int = Field(description="Minutes held for today and yesterday.")
    latest_window_start: str | None
    latest_window_start_ms: int | None
    latest_final: bool | None


class StoresOut(BaseModel):
    """The stores known to the view."""

    stores: list[StoreOut]
    caught_up: bool = Field(description="False while the API is still replaying the KPI topic.")


class HistoryOut(BaseModel):
    """Minute-by-minute history of one store (or ``all``)."""

    store_id: str
    window_start: str
    window_end: str
    window_start_ms: int
    window_end_ms: int
    points: list[RollupOut]


class HealthOut(BaseModel):
    """Liveness or readiness."""

    status: str
    reason: str | None = None
    feed: dict[str, object] | None = None
