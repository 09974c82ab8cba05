"""Daily GMV targets per store, the expected intraday curve, attainment and pace.

A store's *day* is its local calendar day (IANA time zone, :mod:`zoneinfo`). Its target for
the day is ``daily_gmv_target_minor`` (integer minor currency units), or a per-weekday
override. Its *curve* says which share of the day's GMV is expected in each local hour, so
that "GMV so far" can be judged against "GMV expected by now" rather than against the whole
day's target: at 14:00 a store at 40% of its target is ahead if the curve expects 35% by
then.

The YAML format (``config/targets.example.yaml``)::

    defaults:                     # optional; every key may be overridden per store
      currency: EUR               # ISO 4217, upper case
      timezone: Europe/Berlin     # IANA name; default UTC
      curve: ecommerce            # a curve name, or 24 hourly weights; default ecommerce
      daily_gmv_target_minor: 1_000_000   # optional default target
    curves:                       # optional named curves: 24 non-negative hourly weights
      late_evening: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 3, 2]
    stores:
      store-001:
        daily_gmv_target_minor: 2_400_000   # required here or under defaults; >= 0
        currency: EUR
        timezone: Europe/Berlin
        curve: late_evening
        weekday_targets_minor:    # optional per-weekday overrides (mon … sun); 0 = closed
          sat: 3_000_000
          sun: 0
      store-002: {}               # everything from defaults

Built-in curves: ``ecommerce`` (the default: the simulator's
:func:`shoppulse.diurnal.diurnal_factor` averaged over each hour — quiet nights, a
mid-day peak and a higher evening peak) and ``flat`` (1/24 an hour). Weights are
normalized to sum to 1. Within an hour, sales are assumed to arrive evenly.

Validation is strict (no silent coercion: ``"1000"`` is not an integer) and every error
names its field path, e.g. ``stores.store-001.daily_gmv_target_minor``.

Daylight saving time: on a day that skips an hour (23 h) the skipped hour's weight is
never earned, and on a day that repeats an hour (25 h) the repeated hour's weight is
earned twice; :func:`expected_share_at` measures the share of *that* day's total, so it
still runs from 0 at local midnight to 1 at the next.

>>> book = load_targets('''
... stores:
...   s1: {daily_gmv_target_minor: 2400000, currency: EUR, timezone: Europe/Berlin,
...        curve: flat}
... ''')
>>> t = book.get("s1")
>>> book.get("nope") is None
True
>>> from datetime import datetime
>>> p = pace(1_152_000, t, datetime(2024, 6, 5, 12, 0, tzinfo=t.timezone))
>>> p.expected_share, p.projected_minor, p.status
(0.5, 2304000, 'on_track')
>>> p.summary
'GMV 11,520.00 EUR is 48% of the 24,000.00 EUR target at 12:00, 50% expected by now: on track for 96% of target (projected 23,040.00 EUR).'
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from shoppulse.diurnal import MINUTE_MS, diurnal_factor
from shoppulse.timeutil import epoch_ms

_T = TypeVar("_T")

HOURS_PER_DAY: Final = 24
#: Below this expected share of the day's GMV, :func:`pace` does not project (``too_early``).
MIN_EXPECTED_SHARE: Final = 0.02
#: :func:`pace` reports ``ahead``/``behind`` outside ``1 ± PACE_TOLERANCE`` of the target.
PACE_TOLERANCE: Final = 0.05

WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PaceStatus = Literal["no_target", "too_early", "met", "ahead", "on_track", "behind"]


class TargetsError(ValueError):
    """A targets file that does not parse or validate; the message names the field path."""


# --- curves -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Curve:
    """24 hourly weights of a day's GMV, normalized to sum to 1 (hour 0 is 00:00 to 01:00 local).

    >>> c = Curve.from_weights("two", [1] * 12 + [3] * 12)
    >>> c.weights[0], c.weights[23], round(sum(c.weights), 12)
    (0.020833333333333332, 0.0625, 1.0)
    >>> Curve.from_weights("bad", [1] * 23)
    Traceback (most recent call last):
    ...
    ValueError: a curve has 24 hourly weights, got 23
    """

    name: str
    weights: tuple[float, ...]
    cumulative: tuple[float, ...] = field(repr=False)

    @classmethod
    def from_weights(cls, name: str, weights: Sequence[float]) -> Curve:
        """Validate (24 finite non-negative weights, not all 0) and normalize."""
        if len(weights) != HOURS_PER_DAY:
            raise ValueError(f"a curve has 24 hourly weights, got {len(weights)}")
        if any(isinstance(w, bool) or not (math.isfinite(w) and w >= 0) for w in weights):
            raise ValueError("curve weights must be finite numbers >= 0")
        total = math.fsum(weights)
        if total <= 0:
            raise ValueError("curve weights must not all be 0")
        normalized = tuple(w / total for w in weights)
        cumulative = tuple(math.fsum(weights[:i]) / total for i in range(HOURS_PER_DAY + 1))
        return cls(name, normalized, cumulative)

    def share_by_hour(self, hours: float) -> float:
        """Cumulative share by ``hours`` (0 to 24) after local midnight, linear within the hour."""
        h = min(max(hours, 0.0), float(HOURS_PER_DAY))
        i = min(int(h), HOURS_PER_DAY - 1)
        return min(1.0, self.cumulative[i] + (h - i) * self.weights[i])


def _ecommerce_weights() -> list[float]:
    per_hour = 60
    return [
        math.fsum(diurnal_factor((h * per_hour + m) * MINUTE_MS) for m in range(per_hour))
        for h in range(HOURS_PER_DAY)
    ]


#: The default curve: a realistic e-commerce day (see the module docstring).
ECOMMERCE_CURVE: Final = Curve.from_weights("ecommerce", _ecommerce_weights())
FLAT_CURVE: Final = Curve.from_weights("flat", [1.0] * HOURS_PER_DAY)
BUILTIN_CURVES: Final[Mapping[str, Curve]] = MappingProxyType(
    {c.name: c for c in (ECOMMERCE_CURVE, FLAT_CURVE)}
)


def expected_share(curve: Curve, local_time: time) -> float:
    """The expected cumulative share of the day's GMV by a local wall-clock time.

    Linear within the hour. This is the plain wall-clock reading of the curve; for a real
    instant in a store's time zone (correct on DST days) use :func:`expected_share_at`.

    >>> expected_share(FLAT_CURVE, time(6, 0)), expected_share(FLAT_CURVE, time(6, 30))
    (0.25, 0.2708333333333333)
    >>> c = ECOMMERCE_CURVE
    >>> expected_share(c, time(0)), round(expected_share(c, time.max), 6)
    (0.0, 1.0)
    >>> 0.02 < expected_share(ECOMMERCE_CURVE, time(9, 0)) < 0.2 < 0.5 < expected_share(
    ...     ECOMMERCE_CURVE, time(17, 0)) < 0.8
    True
    """
    return curve.share_by_hour(_hours(local_time))


def _hours(t: time) -> float:
    return t.hour + t.minute / 60 + t.second / 3600 + t.microsecond / 3_600_000_000


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants at which the local ``day`` starts and the next one starts.

    >>> start, end = local_day_bounds(date(2024, 3, 31), ZoneInfo("Europe/Berlin"))
    >>> start.isoformat(), (end - start) / timedelta(hours=1)
    ('2024-03-30T23:00:00+00:00', 23.0)
    """
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def expected_share_at(curve: Curve, now: datetime, tz: tzinfo) -> float:
    """The expected share of the local day's GMV earned by the instant ``now`` (aware).

    Follows the real timeline of the local day, so DST days come out right.

    >>> berlin = ZoneInfo("Europe/Berlin")
    >>> expected_share_at(FLAT_CURVE, datetime(2024, 6, 5, 12, tzinfo=berlin), berlin)
    0.5
    >>> round(expected_share_at(FLAT_CURVE, datetime(2024, 3, 31, 12, tzinfo=berlin), berlin)
    ...       * 23, 9)  # 11 of the day's 23 hours
    11.0
    """
    _require_aware(now)
    day = now.astimezone(tz).date()
    start, end = local_day_bounds(day, tz)
    total = _weight_between(curve, start, end, tz, day)
    if total <= 0:  # a curve whose weight all sits in a skipped hour: read the wall clock
        return expected_share(curve, now.astimezone(tz).time())
    done = _weight_between(curve, start, max(start, now.astimezone(UTC)), tz, day)
    return min(1.0, max(0.0, done / total))


def _weight_between(curve: Curve, a: datetime, b: datetime, tz: tzinfo, day: date) -> float:
    """The curve's weight over the real interval [a, b) of the local ``day``."""
    if b <= a:
        return 0.0
    offset = _utcoffset(a, tz)
    if _utcoffset(b - timedelta(microseconds=1), tz) != offset:
        split = _offset_change(a, b, tz)
        return _weight_between(curve, a, split, tz, day) + _weight_between(curve, split, b, tz, day)
    midnight = datetime.combine(day, time(0))

    def wall_hours(x: datetime) -> float:
        return (x.replace(tzinfo=None) + offset - midnight) / timedelta(hours=1)

    return curve.share_by_hour(wall_hours(b)) - curve.share_by_hour(wall_hours(a))


def _utcoffset(instant: datetime, tz: tzinfo) -> timedelta:
    off = instant.astimezone(tz).utcoffset()
    return timedelta(0) if off is None else off


def _offset_change(a: datetime, b: datetime, tz: tzinfo) -> datetime:
    """The first instant in (a, b) with another UTC offset than ``a`` (to the second)."""
    first = _utcoffset(a, tz)
    lo, hi = a, b  # offset(lo) == first; offset(hi - 1µs) != first
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if _utcoffset(mid, tz) == first:
            lo = mid
        else:
            hi = mid
    # Zone transitions fall on whole seconds: the first whole second after ``lo``.
    return lo.replace(microsecond=0) + timedelta(seconds=1)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


# --- targets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """One store's resolved daily target, currency, time zone and curve.

    >>> t = StoreTarget("s1", 1000, "JPY", ZoneInfo("Asia/Tokyo"), FLAT_CURVE, {5: 2000})
    >>> t.local_day(datetime(2024, 6, 7, 15, 30, tzinfo=UTC))  # Saturday already in Tokyo
    datetime.date(2024, 6, 8)
    >>> t.target_minor_on(date(2024, 6, 8)), t.target_minor_on(date(2024, 6, 9))
    (2000, 1000)
    """

    store_id: str
    daily_gmv_target_minor: int
    currency: str
    timezone: ZoneInfo
    curve: Curve = ECOMMERCE_CURVE
    #: Overrides by weekday number (Monday = 0).
    weekday_targets_minor: Mapping[int, int] = field(default_factory=dict)

    def target_minor_on(self, day: date) -> int:
        """The target for a local calendar day (a weekday override, else the daily target)."""
        return self.weekday_targets_minor.get(day.weekday(), self.daily_gmv_target_minor)

    def local_day(self, now: datetime) -> date:
        """The store's local calendar day at the instant ``now`` (aware)."""
        _require_aware(now)
        return now.astimezone(self.timezone).date()

    def day_bounds_ms(self, now: datetime) -> tuple[int, int]:
        """Epoch milliseconds of the start of the store's local day and of the next day.

        Sum the minute windows in ``[start, end)`` to get "GMV today" for :func:`pace`.
        """
        start, end = local_day_bounds(self.local_day(now), self.timezone)
        return epoch_ms(start), epoch_ms(end)

    def expected_share_at(self, now: datetime) -> float:
        """:func:`expected_share_at` with this store's curve and time zone."""
        return expected_share_at(self.curve, now, self.timezone)


@dataclass(frozen=True, slots=True)
class TargetBook:
    """Every configured store's target; :meth:`get` returns ``None`` for an unknown store."""

    stores: Mapping[str, StoreTarget]

    def get(self, store_id: str) -> StoreTarget | None:
        return self.stores.get(store_id)

    def __contains__(self, store_id: object) -> bool:
        return store_id in self.stores

    def __len__(self) -> int:
        return len(self.stores)


# --- YAML ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


_CURVE_HELP = (
    "a curve is a name (ecommerce, flat, or one under `curves:`) "
    "or a list of 24 non-negative hourly weights"
)


def _check_curve_spec(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if not all(isinstance(w, int | float) and not isinstance(w, bool) for w in value):
            raise ValueError(f"{_CURVE_HELP}; got a non-number in the list")
        Curve.from_weights("check", cast(list[float], value))
        return value
    raise ValueError(f"{_CURVE_HELP}; got {type(value).__name__}")


def _check_timezone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. Europe/Berlin") from None
    return value


def _check_currency(value: str) -> str:
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValueError(f"an ISO 4217 currency code in upper case, e.g. EUR; got {value!r}")
    return value


def _check_named_curve(weights: list[float]) -> list[float]:
    Curve.from_weights("check", weights)
    return weights


_Currency = Annotated[str, AfterValidator(_check_currency)]
_CurveWeights = Annotated[list[float], AfterValidator(_check_named_curve)]
_TargetMinor = Annotated[int, Field(ge=0)]


class _DefaultsSpec(_Strict):
    daily_gmv_target_minor: int | None = Field(default=None, ge=0)
    currency: _Currency | None = None
    timezone: str | None = None
    curve: str | list[float] | None = None

    @field_validator("curve", mode="before")
    @classmethod
    def _curve(cls, value: object) -> object:
        return None if value is None else _check_curve_spec(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return _check_timezone(value)


class _StoreSpec(_DefaultsSpec):
    weekday_targets_minor: dict[Weekday, _TargetMinor] | None = None


class _TargetsFileSpec(_Strict):
    defaults: _DefaultsSpec = _DefaultsSpec()
    curves: dict[str, _CurveWeights] = Field(default_factory=dict)
    stores: dict[str, _StoreSpec]

    @field_validator("curves")
    @classmethod
    def _no_builtin_names(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name in value:
            if name in BUILTIN_CURVES:
                raise ValueError(f"the built-in curve {name!r} cannot be redefined")
        return value


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per error: ``field.path: message``, the path joined with dots."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":  # a bad mapping key: name the key, not a field
            loc.pop()
            msg = f"key {loc.pop()!r}: {msg}"
        path = prefix
        for part in loc:
            path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
        if err["type"] == "missing":
            msg = "required"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{path or '(top level)'}: {msg}")
    return "; ".join(lines)


def parse_yaml_mapping(text: str, what: str) -> dict[str, Any]:
    """``yaml.safe_load`` a document that must be a mapping; errors as :class:`ValueError`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{what}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a YAML mapping at the top level")
    return data


def load_targets(text: str) -> TargetBook:
    """Parse and validate a targets YAML document (see the module docstring).

    >>> load_targets("stores: {s1: {currency: EUR}}")
    Traceback (most recent call last):
    ...
    shoppulse.targets.TargetsError: stores.s1.daily_gmv_target_minor: required (set it here or under defaults)
    >>> load_targets("stores: {s1: {daily_gmv_target_minor: '100', currency: EUR}}")
    Traceback (most recent call last):
    ...
    shoppulse.targets.TargetsError: stores.s1.daily_gmv_target_minor: Input should be a valid integer
    """  # noqa: E501
    try:
        data = parse_yaml_mapping(text, "targets")
    except ValueError as exc:
        raise TargetsError(str(exc)) from None
    try:
        spec = _TargetsFileSpec.model_validate(data)
    except ValidationError as exc:
        raise TargetsError(describe_validation_error(exc)) from None
    curves = dict(BUILTIN_CURVES)
    curves.update({n: Curve.from_weights(n, w) for n, w in spec.curves.items()})
    return TargetBook(
        {sid: _resolve(sid, s, spec.defaults, curves) for sid, s in spec.stores.items()}
    )


def _resolve(
    store_id: str, spec: _StoreSpec, defaults: _DefaultsSpec, curves: Mapping[str, Curve]
) -> StoreTarget:
    path = f"stores.{store_id}"
    target = _first(spec.daily_gmv_target_minor, defaults.daily_gmv_target_minor)
    if target is None:
        raise TargetsError(
            f"{path}.daily_gmv_target_minor: required (set it here or under defaults)"
        )
    currency = _first(spec.currency, defaults.currency)
    if currency is None:
        raise TargetsError(f"{path}.currency: required (set it here or under defaults)")
    curve_spec = spec.curve if spec.curve is not None else defaults.curve
    curve_path = f"{path}.curve" if spec.curve is not None else "defaults.curve"
    if curve_spec is None:
        curve = ECOMMERCE_CURVE
    elif isinstance(curve_spec, str):
        if curve_spec not in curves:
            known = ", ".join(sorted(curves))
            raise TargetsError(f"{curve_path}: unknown curve {curve_spec!r}; known: {known}")
        curve = curves[curve_spec]
    else:
        curve = Curve.from_weights(f"{store_id}.custom", curve_spec)
    weekdays = {WEEKDAYS.index(d): v for d, v in (spec.weekday_targets_minor or {}).items()}
    tz = ZoneInfo(_first(spec.timezone, defaults.timezone) or "UTC")
    return StoreTarget(store_id, target, currency, tz, curve, weekdays)


def _first(*values: _T | None) -> _T | None:
    for v in values:
        if v is not None:
            return v
    return None


# --- attainment and pace ------------------------------------------------------------------


def attainment(gmv_today_minor: int, target_minor: int) -> float | None:
    """GMV so far as a share of the day's target; ``None`` when there is no target (0).

    >>> attainment(1_200, 4_000), attainment(5_000, 4_000), attainment(0, 4_000)
    (0.3, 1.25, 0.0)
    >>> attainment(10, 0) is None
    True
    """
    if gmv_today_minor < 0:
        raise ValueError(f"gmv_today_minor must be >= 0, got {gmv_today_minor}")
    if target_minor < 0:
        raise ValueError(f"a target must be >= 0, got {target_minor}")
    if target_minor == 0:
        return None
    return gmv_today_minor / target_minor


@dataclass(frozen=True, slots=True)
class Pace:
    """Where a store stands against today's target, and where it is heading.

    ``projected_ratio`` equals ``attainment / expected_share``: the expected-share-adjusted
    attainment ("on track for 96% of target").
    """

    store_id: str
    day: date
    as_of: datetime  # local time of the store
    target_minor: int
    gmv_minor: int
    currency: str
    attainment: float | None
    expected_share: float
    expected_minor: int  # where the curve says GMV should be by now
    projected_minor: int | None
    projected_ratio: float | None
    status: PaceStatus
    summary: str


def pace(
    gmv_today_minor: int,
    target: StoreTarget,
    now: datetime,
    *,
    min_share: float = MIN_EXPECTED_SHARE,
    tolerance: float = PACE_TOLERANCE,
) -> Pace:
    """Today's attainment and projected end-of-day GMV at the instant ``now`` (aware).

    ``gmv_today_minor`` is the GMV of the store's local day so far
    (:meth:`StoreTarget.day_bounds_ms`). Projection is ``gmv / expected_share``; while
    less than ``min_share`` of the day's GMV is expected, the status is ``too_early`` and
    nothing is projected. Statuses, first match wins: ``no_target`` (target 0), ``met``
    (GMV ≥ target), ``too_early``, ``ahead`` / ``on_track`` / ``behind`` (projection above,
    within, below ``1 ± tolerance`` of the target).

    >>> t = StoreTarget("s1", 2_400_000, "EUR", ZoneInfo("UTC"), FLAT_CURVE)
    >>> early = pace(1_000, t, datetime(2024, 6, 5, 0, 20, tzinfo=UTC))
    >>> early.status, early.projected_minor
    ('too_early', None)
    >>> late = pace(1_500_000, t, datetime(2024, 6, 5, 18, 0, tzinfo=UTC))
    >>> late.status, late.projected_minor, round(late.projected_ratio, 4)
    ('behind', 2000000, 0.8333)
    """
    if not 0 < min_share <= 1:
        raise ValueError("min_share must be in (0, 1]")
    _require_aware(now)
    local = now.astimezone(target.timezone)
    day = local.date()
    target_minor = target.target_minor_on(day)
    att = attainment(gmv_today_minor, target_minor)
    share = target.expected_share_at(now)
    projected: int | None = None
    ratio: float | None = None
    if att is not None and share >= min_share:
        projected = round(gmv_today_minor / share)
        ratio = att / share
    status: PaceStatus
    if att is None:
        status = "no_target"
    elif att >= 1.0:
        status = "met"
    elif ratio is None:
        status = "too_early"
    elif ratio > 1.0 + tolerance:
        status = "ahead"
    elif ratio >= 1.0 - tolerance:
        status = "on_track"
    else:
        status = "behind"
    result = Pace(
        store_id=target.store_id,
        day=day,
        as_of=local,
        target_minor=target_minor,
        gmv_minor=gmv_today_minor,
        currency=target.currency,
        attainment=att,
        expected_share=share,
        expected_minor=round(target_minor * share),
        projected_minor=projected,
        projected_ratio=ratio,
        status=status,
        summary="",
    )
    return replace(result, summary=_summary(result))


def _summary(p: Pace) -> str:
    gmv = format_minor(p.gmv_minor, p.currency)
    if p.attainment is None:
        return f"GMV {gmv}; no target for {p.day:%A %Y-%m-%d}."
    head = (
        f"GMV {gmv} is {_pct(p.attainment)} of the {format_minor(p.target_minor, p.currency)} "
        f"target at {p.as_of:%H:%M}, {_pct(p.expected_share)} expected by now"
    )
    met = "target met; " if p.status == "met" else ""
    if p.projected_minor is None or p.projected_ratio is None:
        return (
            f"{head}: {met}too early to project." if p.status != "met" else f"{head}: target met."
        )
    return (
        f"{head}: {met}on track for {_pct(p.projected_ratio)} of target "
        f"(projected {format_minor(p.projected_minor, p.currency)})."
    )


def _pct(x: float) -> str:
    return f"{x:.1%}" if 0 < x < 0.1 else f"{x:.0%}"


_ZERO_DECIMAL: Final = frozenset(
    ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND")
) | frozenset(("VUV", "XAF", "XOF", "XPF"))
_THREE_DECIMAL: Final = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))


def format_minor(amount_minor: int, currency: str) -> str:
    """An amount in minor units as text, with the currency's ISO 4217 exponent.

    >>> format_minor(2_400_050, "EUR"), format_minor(2_400, "JPY"), format_minor(-1_500, "KWD")
    ('24,000.50 EUR', '2,400 JPY', '-1.500 KWD')
    """
    digits = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    text = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    return f"{sign}{text} {currency}"
