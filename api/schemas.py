"""Response models of the REST API (they document the JSON in OpenAPI at ``/docs``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from alerts.actions import MAX_MATCHERS, MAX_TEXT


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
    """One store known to the view: it has read a snapshot of it, minutes held or not."""

    store_id: str
    currency: str | None
    minutes: int = Field(
        description=(
            "Minutes held (from `history_start` on); 0 for a store whose minutes are all older."
        )
    )
    latest_window_start: str | None = Field(
        description="Start of the newest minute read for the store, held or not."
    )
    latest_window_start_ms: int | None
    latest_final: bool | None = Field(description="Whether that minute is closed (final).")
    closed_until: str | None = Field(
        default=None,
        description=(
            "End of the store's newest final minute this API has read: events before it are"
            " late (POST /api/v1/events refuses them; the worker may be further on)."
        ),
    )
    closed_until_ms: int | None = None


class StoresOut(BaseModel):
    """The stores known to the view."""

    stores: list[StoreOut]
    caught_up: bool = Field(description="False while the API is still replaying the KPI topic.")
    history_start: str | None = Field(
        default=None,
        description="The API holds minutes from here on; older minutes are counted, not served.",
    )
    history_start_ms: int | None = None


class HistoryOut(BaseModel):
    """Minute-by-minute history of one store (or ``all``)."""

    store_id: str
    window_start: str
    window_end: str
    window_start_ms: int
    window_end_ms: int
    points: list[RollupOut]
    notes: list[str] = Field(
        default_factory=list,
        description="Where a known store's newest minute is when the range holds none of it.",
    )


class HealthOut(BaseModel):
    """Liveness or readiness."""

    status: str
    reason: str | None = None
    feed: dict[str, object] | None = Field(default=None, description="The KPI feed.")
    feeds: dict[str, dict[str, object]] | None = Field(
        default=None,
        description="Every Kafka feed readiness waits for: `kpis`, `alerts`, `alert_actions`.",
    )


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
    gmv_yesterday_minor: float | None = Field(
        description="GMV of the same stretch of the local day 24 h earlier (local midnight to "
        "the end of this minute, shifted back a day), to compare with `gmv_today_minor`; null "
        "where those minutes are not held (see `yesterday_window`)."
    )
    yesterday_window: ComparisonWindowOut


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


# --- alerts, acknowledgements and silences (JSON field names in camelCase, like Alertmanager) ---

MAX_NAME_LEN = 200
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LEN)
]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]


class _CamelOut(BaseModel):
    """A response model: built by field name, serialised in camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class _CamelIn(BaseModel):
    """A request body: camelCase fields only; unknown fields are an error."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")


class AckOut(_CamelOut):
    """An acknowledgement of one occurrence of an alert."""

    by: str
    comment: str
    at: str = Field(description="When it was acknowledged (RFC 3339, UTC).")


class AlertAckOut(AckOut):
    """The acknowledgement of an alert's current occurrence."""

    alert_id: str = Field(description="The alert's id (its fingerprint).")
    starts_at: str = Field(description="The occurrence acknowledged (the alert's startsAt).")


class AckIn(_CamelIn):
    """Who acknowledges, and why."""

    by: Name | None = Field(
        default=None,
        description="Who acknowledges. With API keys configured the name of the presenting "
        "key is recorded instead (a different `by` is kept as a note in the comment); without "
        "keys it is required.",
    )
    comment: Text = ""


class AlertOut(_CamelOut):
    """One alert's latest state, with its acknowledgement and the silences muting it."""

    id: str = Field(description="The alert's fingerprint (a hash of its labels).")
    labels: dict[str, str] = Field(description="alertname, store_id, kpi, severity, ...")
    annotations: dict[str, str] = Field(description="summary, description, source.")
    status: Literal["firing", "resolved"]
    starts_at: str
    ends_at: str | None = Field(description="When it resolved; null while firing.")
    value: float | None = Field(description="The observed value.")
    expected: float | None = Field(description="The expected value or the threshold.")
    ack: AckOut | None = Field(description="The acknowledgement of this occurrence, if any.")
    silenced_by: list[str] = Field(
        description="Ids of the silences active now whose matchers match the labels."
    )


class AlertsOut(_CamelOut):
    """Alerts, newest ``startsAt`` first."""

    alerts: list[AlertOut]
    caught_up: bool = Field(
        description="False while the API is still reading the alert or action topics."
    )


class MatcherModel(BaseModel):
    """A label condition: `=`, `!=`, `=~` or `!~` (regular expressions match the whole value)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=MAX_NAME_LEN,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="A label name.",
    )
    value: Text = Field(description="The value or regular expression; a missing label is ''.")
    op: Literal["=", "!=", "=~", "!~"] = "="


class SilenceIn(_CamelIn):
    """A new silence: matchers, a start (default now) and either an end or a duration."""

    matchers: list[MatcherModel] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: str | None = Field(
        default=None, description="RFC 3339 with an offset; default (and at the earliest) now."
    )
    ends_at: str | None = Field(default=None, description="RFC 3339 with an offset.")
    duration: str | None = Field(
        default=None, description="Instead of endsAt: a whole number with s, m or h, e.g. 2h."
    )
    created_by: Name | None = Field(
        default=None,
        description="Who silences. With API keys configured the name of the presenting key "
        "is recorded instead (a different `createdBy` is kept as a note in the comment); "
        "without keys it is required.",
    )
    comment: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)
    ] = Field(description="Why (required, like Alertmanager).")


class SilenceOut(_CamelOut):
    """A silence and its state now."""

    id: str
    matchers: list[MatcherModel]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str
    updated_at: str
    state: Literal["pending", "active", "expired"]


class SilencesOut(_CamelOut):
    """Silences, newest start first."""

    silences: list[SilenceOut]
