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


class ComparisonWindowOut(BaseModel):
    """The window a comparison rolled up: the current window shifted back."""

    window_start: str
    window_end: str
    window_start_ms: int
    window_end_ms: int
    shift_days: int = Field(description="1 for yesterday, 7 for last week.")
    minutes: int = Field(description="How many store-minute snapshots contributed.")
    notes: list[str] = Field(
        description="Why values are null (minutes not held) and rollup caveats."
    )


class KpisOut(RollupOut):
    """A rollup window, with the same window yesterday and last week."""

    comparisons: dict[str, dict[str, float | None]] = Field(
        description=(
            "KPI values of the same window shifted back: `yesterday` (1 day) and `last_week`"
            " (7 days); null where those minutes are not held (see `comparison_windows`)."
        )
    )
    comparison_windows: dict[str, ComparisonWindowOut]


class StoreOut(BaseModel):
    """One store known to the view."""

    store_id: str
    currency: str | None
    minutes: int = Field(
        description="Minutes held (from an hour before the same UTC day last week)."
    )
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


class TargetOut(BaseModel):
    """Today's GMV of one store, in its local day, against its daily target."""

    store_id: str
    day: str = Field(description="The store's local calendar day (ISO date).")
    timezone: str
    as_of: str = Field(description="The store's local time now (RFC 3339 with offset).")
    day_start: str
    day_end: str
    day_start_ms: int
    day_end_ms: int
    currency: str
    target_minor: int = Field(description="Today's target (weekday override or daily target).")
    gmv_today_minor: int = Field(description="GMV of paid orders since local midnight.")
    minutes: int = Field(description="How many store-minute snapshots contributed.")
    attainment: float | None = Field(description="GMV / target; null when the target is 0.")
    expected_share: float = Field(description="Share of the day's GMV the curve expects by now.")
    expected_minor: int = Field(description="Where GMV should be by now: target * share.")
    projected_minor: int | None = Field(description="GMV / expected share; null while too early.")
    projected_ratio: float | None = Field(description="attainment / expected share.")
    status: str = Field(description="no_target, too_early, met, ahead, on_track or behind.")
    summary: str


class ScorePartOut(BaseModel):
    """One component of a scorecard."""

    name: str
    weight: float = Field(description="The configured weight of the active weight set.")
    effective_weight: float = Field(
        description="Its share of the total after leaving missing parts out (0 when missing)."
    )
    value: float | None
    mark: float = Field(description="The value that scores 100.")
    zero_at: float = Field(description="The value that scores 0 (linear in between).")
    score: float | None = Field(description="0-100; null when the value is missing.")


class ScorecardOut(BaseModel):
    """A role's 0-100 score: the weighted mean of the available parts' scores."""

    role: str
    total: float | None = Field(description="Null when every part is missing.")
    weight_set: str = Field(description="peak or off_peak, by the store's local time.")
    parts: list[ScorePartOut]
    missing: list[str]


class AgentScorecardOut(BaseModel):
    """One agent's service scorecard and the KPIs it is built from."""

    agent_id: str
    kpis: dict[str, float | None] = Field(
        description="csat_share, resolution_rate and escalation_rate (per conversation the "
        "agent answered first), first_response_p90_s."
    )
    scorecard: ScorecardOut


class ScorecardsOut(BaseModel):
    """The live sales and service scorecards of one store for its local day so far."""

    store_id: str
    day: str
    timezone: str
    as_of: str
    day_start: str
    day_end: str
    day_start_ms: int
    day_end_ms: int
    minutes: int
    sales: ScorecardOut
    service: ScorecardOut
    agents: list[AgentScorecardOut] = Field(
        description="The service scorecard of every agent credited today, by agent_id."
    )
    notes: list[str]
