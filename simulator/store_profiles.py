"""Store profiles: traffic shapes real shops have and the steady simulator lacks.

:class:`simulator.simulation.Simulator` makes dense, steady traffic. Real shops
also look like this, and each profile turns one store (or every store, ``*``)
into one of them:

* ``steady`` — the simulator's own shape; ``rate=EVENTS_PER_S`` sets the store's
  mean events per second (a daily average; the diurnal curve still applies);
* ``tiny`` — orders only: an order placed about ``every=4m`` (a daily average),
  a chat now and then, NO clickstream and no inventory feed (its orders carry
  no ``session_id``);
* ``night_silent`` — sends nothing from ``from=23:00`` to ``to=07:00`` in the
  store's local time: no session or chat starts, and nothing that would fall
  in the night (a late click, a shipment, a restock) is sent;
* ``burst`` — campaign e-mails: ``factor=10`` times the sessions and chats for
  ``length=15m``, once in every ``every=6h`` at a seeded time;
* ``gap`` — silent (as at night) for ``length=17h`` from ``start=+1h`` after the
  simulation start, then active again; give several for several gaps;
* ``out_of_order`` — a late producer: each event is *sent* at its ``ts`` plus a
  seeded delay in ``[0, max]`` (see :func:`send_order`); keep ``max`` at most
  the worker's ``grace_s`` and no event is ever late;
* ``variance`` — traffic as wild as real shops' (:mod:`simulator.traffic_variance`):
  the session and chat rate times a weekday factor (``weekday=1.05/1/1/1/0.92/1.12/1.18``,
  Monday first), a log-normal day factor (``day_sd=0.12``, clipped to 0.7-1.4), a
  persistent ±15-30 % level shift one day in ``shift_days=14`` (``shift=0.15/0.3``), an
  AR(1) wander of the log level (``wander_sd=0.08``, time constant ``wander=3h``) and a
  gamma factor per minute (``k=100``: sessions per minute have ``Var = μ + μ²/k``;
  ``k=inf``: Poisson); a day factor of the conversion (``conversion_sd=0.05``); payments
  0-3 minutes after their checkout (``lag=0.4/0.3/0.2/0.1``). ``shoppulse simulate``
  applies it to every store unless ``--tame``; the :class:`~simulator.simulation.Simulator`
  only when given.

``night_silent``, ``burst`` and ``gap`` also take ``rate=``. Profiles stack:
silences and bursts add up; for the rate (``rate=`` or ``tiny``), the
disorder bound and the variance the last profile given wins.

>>> profiles = [TrafficProfile.parse(spec, origin_ms=0) for spec in (
...     "tiny:store-002",
...     "night_silent:store-003:from=22:30,to=6",
...     "gap:store-001:start=+2h,length=2d",
... )]
>>> shapes = shape_stores(profiles, [("store-001", 0), ("store-002", 0), ("store-003", 60)],
...                       seed=1, origin_ms=0)
>>> tiny = shapes["store-002"]
>>> tiny.clicks, tiny.inventory, tiny.order_every_ms
(False, False, 240000)
>>> night = shapes["store-003"]  # UTC+1: local 22:30 is 21:30 UTC
>>> [night.silent(h * HOUR_MS) for h in (12, 21, 22, 29)]
[False, False, True, False]
>>> gapped = shapes["store-001"]
>>> gapped.silent(HOUR_MS), gapped.silent(3 * HOUR_MS), gapped.rate_factor(3 * HOUR_MS)
(False, True, 0.0)
>>> gapped.silent(2 * HOUR_MS + 2 * DAY_MS)  # active again
False
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, Protocol, TypeVar, cast, get_args

from shoppulse import topics
from simulator.durations import DAY_MS, HOUR_MS, MINUTE_MS, parse_duration_ms
from simulator.traffic_variance import Variance

ProfileName = Literal["steady", "tiny", "night_silent", "burst", "gap", "out_of_order", "variance"]
PROFILE_NAMES: Final[tuple[str, ...]] = get_args(ProfileName)

#: The parameters each profile takes, as ``NAME:STORE:PARAM=VALUE,...``.
PROFILE_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "steady": ("rate",),
    "tiny": ("every",),
    "night_silent": ("rate", "from", "to"),
    "burst": ("rate", "factor", "length", "every"),
    "gap": ("rate", "start", "length"),
    "out_of_order": ("max",),
    "variance": (
        "weekday",
        "day_sd",
        "shift_days",
        "shift",
        "wander_sd",
        "wander",
        "k",
        "conversion_sd",
        "lag",
    ),
}

DEFAULT_ORDER_EVERY_MS: Final = 4 * MINUTE_MS
DEFAULT_QUIET_FROM_MIN: Final = 23 * 60
DEFAULT_QUIET_TO_MIN: Final = 7 * 60
DEFAULT_BURST_FACTOR: Final = 10.0
DEFAULT_BURST_LENGTH_MS: Final = 15 * MINUTE_MS
DEFAULT_BURST_EVERY_MS: Final = 6 * HOUR_MS
DEFAULT_GAP_START_MS: Final = HOUR_MS  # after the simulation start
DEFAULT_GAP_LENGTH_MS: Final = 17 * HOUR_MS
#: The disorder bound of ``out_of_order`` when none is given (the worker's grace is 5 s by
#: default; ``shoppulse simulate`` uses its configured ``grace_s`` instead).
DEFAULT_MAX_DISORDER_MS: Final = 2_000


def parse_local_time_min(text: str) -> int:
    """Minutes after local midnight from ``HH`` or ``HH:MM``.

    >>> parse_local_time_min("23:00"), parse_local_time_min("7"), parse_local_time_min("06:30")
    (1380, 420, 390)
    """
    hours, _, minutes = text.strip().partition(":")
    try:
        h, m = int(hours), int(minutes or "0")
    except ValueError:
        raise ValueError(f"not a local time: {text!r} (use e.g. 23:00 or 7)") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"not a local time: {text!r} (00:00 to 23:59)")
    return h * 60 + m


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """One profile for one store (or ``"*"``: every store); fields not of its kind are unused.

    >>> p = TrafficProfile.parse("burst:store-004:factor=8,every=2h", origin_ms=0)
    >>> p.store_id, p.burst_factor, p.length_ms, p.every_ms
    ('store-004', 8.0, 900000, 7200000)
    >>> TrafficProfile.parse("gap:store-001:start=+30m,length=3d", origin_ms=10).start_ms
    1800010
    >>> TrafficProfile.parse("out_of_order", origin_ms=0, default_max_disorder_ms=5_000)
    ... # doctest: +ELLIPSIS
    TrafficProfile(name='out_of_order', store_id='*', ..., max_disorder_ms=5000, variance=None)
    >>> TrafficProfile.parse("variance:store-002:day_sd=0.2,k=inf", origin_ms=0).variance
    ... # doctest: +ELLIPSIS
    Variance(weekday=(1.05, ...), day_sd=0.2, ..., dispersion=None, ...)
    """

    name: ProfileName
    store_id: str = "*"
    rate_per_s: float | None = None
    """``steady``, ``night_silent``, ``burst``, ``gap``: the store's mean events per second."""
    order_every_ms: int = DEFAULT_ORDER_EVERY_MS
    """``tiny``: the mean time between placed orders."""
    quiet_from_min: int = DEFAULT_QUIET_FROM_MIN
    """``night_silent``: local minute of the day the silence starts ..."""
    quiet_to_min: int = DEFAULT_QUIET_TO_MIN
    """... and ends (exclusive); it wraps past midnight when it ends before it starts."""
    burst_factor: float = DEFAULT_BURST_FACTOR
    length_ms: int | None = None
    """``burst`` (default 15 min) or ``gap`` (default 17 h): how long each lasts."""
    every_ms: int = DEFAULT_BURST_EVERY_MS
    """``burst``: one burst in each period this long, at a seeded time within it."""
    start_ms: int | None = None
    """``gap``: when it starts (epoch ms)."""
    max_disorder_ms: int = DEFAULT_MAX_DISORDER_MS
    """``out_of_order``: the largest send delay."""
    variance: Variance | None = None
    """``variance``: how wild the traffic is (default: real shops', :class:`Variance`)."""

    def __post_init__(self) -> None:
        if self.name not in PROFILE_NAMES:
            raise ValueError(f"unknown profile {self.name!r}; one of {PROFILE_NAMES}")
        if self.name == "variance" and self.variance is None:
            object.__setattr__(self, "variance", Variance())
        if not self.store_id:
            raise ValueError(f"profile {self.name}: empty store id")
        if self.length_ms is None and self.name in ("burst", "gap"):
            default = DEFAULT_BURST_LENGTH_MS if self.name == "burst" else DEFAULT_GAP_LENGTH_MS
            object.__setattr__(self, "length_ms", default)
        if self.rate_per_s is not None and not (
            self.rate_per_s > 0 and math.isfinite(self.rate_per_s)
        ):
            raise ValueError(f"profile {self.name}: rate must be a finite number > 0")
        if self.order_every_ms <= 0:
            raise ValueError("profile tiny: every must be > 0")
        for minute in (self.quiet_from_min, self.quiet_to_min):
            if not 0 <= minute < 1440:
                raise ValueError("profile night_silent: from and to must be local times")
        if self.quiet_from_min == self.quiet_to_min:
            raise ValueError("profile night_silent: from and to must differ")
        if not (self.burst_factor >= 0 and math.isfinite(self.burst_factor)):
            raise ValueError("profile burst: factor must be a finite number >= 0")
        if self.length_ms is not None and self.length_ms <= 0:
            raise ValueError(f"profile {self.name}: length must be > 0")
        if self.name == "burst" and not 0 < (self.length_ms or 0) <= self.every_ms:
            raise ValueError("profile burst: length must be at most every")
        if self.name == "gap" and self.start_ms is None:
            raise ValueError("profile gap: a start is required")
        if self.max_disorder_ms < 0:
            raise ValueError("profile out_of_order: max must be >= 0")

    @classmethod
    def parse(
        cls,
        spec: str,
        origin_ms: int,
        *,
        default_max_disorder_ms: int = DEFAULT_MAX_DISORDER_MS,
    ) -> TrafficProfile:
        """Parse ``NAME[:STORE][:PARAM=VALUE,...]`` (no STORE: every store).

        Durations are written ``90s``, ``15m``, ``2h``, ``3d``; ``start`` is an offset from
        ``origin_ms`` (the simulation start), with an optional leading ``+``; ``from`` and
        ``to`` are local times ``HH:MM`` or ``HH``; ``rate`` and ``factor`` are numbers.

        >>> TrafficProfile.parse("night_silent:from=22:00", origin_ms=0).quiet_from_min
        1320
        >>> TrafficProfile.parse("tiny:store-002:rate=3", origin_ms=0)
        Traceback (most recent call last):
        ...
        ValueError: profile 'tiny:store-002:rate=3': tiny takes no 'rate' (it takes: every)
        """
        name, _, rest = spec.strip().partition(":")
        store, params_text = "*", rest
        head = rest.split(":", 1)[0]
        if rest and "=" not in head:
            store, _, params_text = rest.partition(":")
        if name not in PROFILE_NAMES:
            raise ValueError(f"profile {spec!r}: unknown name {name!r}; one of {PROFILE_NAMES}")
        allowed = PROFILE_PARAMS[name]
        values: dict[str, Any] = {"max_disorder_ms": default_max_disorder_ms}
        variance: dict[str, Any] = {}
        if name == "gap":
            values["start_ms"] = origin_ms + DEFAULT_GAP_START_MS
        for item in filter(None, (p.strip() for p in params_text.split(","))):
            key, eq, text = item.partition("=")
            key = key.strip()
            if not eq or key not in allowed:
                raise ValueError(
                    f"profile {spec!r}: {name} takes no {key!r} (it takes: {', '.join(allowed)})"
                )
            try:
                if name == "variance":
                    field_name, value = _variance_param(key, text.strip())
                    variance[field_name] = value
                    continue
                field_name, value = _param(name, key, text.strip(), origin_ms)
            except ValueError as exc:
                raise ValueError(f"profile {spec!r}: {key}: {exc}") from None
            values[field_name] = value
        try:
            if name == "variance":
                values["variance"] = Variance(**variance)
            return cls(cast(ProfileName, name), store, **values)
        except ValueError as exc:
            raise ValueError(f"profile {spec!r}: {exc}") from None


def _param(name: str, key: str, text: str, origin_ms: int) -> tuple[str, Any]:
    if key in ("rate", "factor"):
        return ("rate_per_s" if key == "rate" else "burst_factor"), float(text)
    if key in ("from", "to"):
        return ("quiet_from_min" if key == "from" else "quiet_to_min"), parse_local_time_min(text)
    if key == "start":
        return "start_ms", origin_ms + parse_duration_ms(text.removeprefix("+"))
    duration_ms = parse_duration_ms(text)
    if key == "max":
        return "max_disorder_ms", duration_ms
    if key == "length":
        return "length_ms", duration_ms
    return ("order_every_ms" if name == "tiny" else "every_ms"), duration_ms  # every


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"not numbers: {text!r} (use e.g. 0.4/0.3/0.2/0.1)") from None


def _variance_param(key: str, text: str) -> tuple[str, Any]:
    """The :class:`Variance` field and value of a ``variance`` parameter.

    >>> _variance_param("wander", "90m"), _variance_param("k", "inf")
    (('wander_minutes', 90.0), ('dispersion', None))
    >>> _variance_param("lag", "0.5/0.5")
    ('payment_lag', (0.5, 0.5))
    """
    if key == "wander":
        return "wander_minutes", parse_duration_ms(text) / MINUTE_MS
    if key in ("weekday", "lag"):
        return ("weekday" if key == "weekday" else "payment_lag"), _numbers(text)
    if key == "shift":
        low_high = _numbers(text)
        if len(low_high) != 2:
            raise ValueError(f"not a range: {text!r} (use e.g. 0.15/0.3)")
        return "shift_size", low_high
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if key == "k":
        return "dispersion", None if number == math.inf else number
    return {"shift_days": "shift_every_days"}.get(key, key), number  # day_sd, wander_sd, ...


@dataclass(frozen=True, slots=True)
class Burst:
    """A campaign burst: ``factor`` times the traffic for ``length_ms`` once per ``every_ms``,
    starting at a seeded whole minute."""

    factor: float
    length_ms: int
    every_ms: int


@dataclass(frozen=True, slots=True)
class StoreShape:
    """What its profiles make of one store's traffic (see :func:`shape_stores`).

    >>> shape = StoreShape("s1", bursts=(Burst(10.0, 15 * MINUTE_MS, HOUR_MS),), seed=3)
    >>> [(start, end - start, f) for start, end, f in shape.burst_windows(0, 2 * HOUR_MS)]
    [(2580000, 900000, 10.0), (6000000, 900000, 10.0)]
    >>> shape.rate_factor(2_580_000), shape.rate_factor(2_580_000 + 15 * MINUTE_MS)
    (10.0, 1.0)
    """

    store_id: str
    utc_offset_min: int = 0
    seed: int = 0
    origin_ms: int = 0
    rate_per_s: float | None = None
    order_every_ms: int | None = None
    clicks: bool = True
    inventory: bool = True
    quiet_min: tuple[tuple[int, int], ...] = ()
    """Local-time silences: (from, to) minutes of the day; ``to`` < ``from`` wraps."""
    gaps_ms: tuple[tuple[int, int], ...] = ()
    """Absolute silences: [start, end) in epoch ms."""
    bursts: tuple[Burst, ...] = ()
    max_disorder_ms: int = 0
    profiles: tuple[str, ...] = ()
    """The names of the profiles applied, in order."""
    variance: Variance | None = None
    """How wild its traffic is (``None``: the simulator's tame Poisson arrivals)."""

    def sessions_per_s(
        self, default: float, events_per_session: float, orders_per_session: float
    ) -> float:
        """The store's mean session rate: ``default`` unless a profile sets the rate.

        >>> StoreShape("s", rate_per_s=14.0).sessions_per_s(9.0, 7.0, 0.1)
        2.0
        >>> round(StoreShape("s", order_every_ms=MINUTE_MS).sessions_per_s(9.0, 7.0, 0.1), 6)
        0.166667
        """
        if self.order_every_ms is not None:
            return 1000.0 / self.order_every_ms / orders_per_session
        if self.rate_per_s is not None:
            return self.rate_per_s / events_per_session
        return default

    def silent(self, ts_ms: int) -> bool:
        """Whether the store sends nothing at ``ts_ms`` (its night, or one of its gaps)."""
        for start_ms, end_ms in self.gaps_ms:
            if start_ms <= ts_ms < end_ms:
                return True
        if self.quiet_min:
            minute = (ts_ms + self.utc_offset_min * MINUTE_MS) % DAY_MS // MINUTE_MS
            for lo, hi in self.quiet_min:
                if (lo <= minute < hi) if lo < hi else (minute >= lo or minute < hi):
                    return True
        return False

    def _burst_start_ms(self, index: int, burst: Burst, period: int) -> int:
        digest = hashlib.blake2b(
            f"{self.seed}:{self.store_id}:{index}:{period}".encode(), digest_size=8
        ).digest()
        slack_min = (burst.every_ms - burst.length_ms) // MINUTE_MS
        offset_ms = int.from_bytes(digest, "big") % (slack_min + 1) * MINUTE_MS
        return self.origin_ms + period * burst.every_ms + offset_ms

    def burst_windows(self, start_ms: int, end_ms: int) -> list[tuple[int, int, float]]:
        """The bursts ``(start, end, factor)`` that overlap ``[start_ms, end_ms)``, by start."""
        out = []
        for index, burst in enumerate(self.bursts):
            first = (start_ms - self.origin_ms) // burst.every_ms
            last = (end_ms - 1 - self.origin_ms) // burst.every_ms
            for period in range(first, last + 1):
                begin = self._burst_start_ms(index, burst, period)
                if begin < end_ms and begin + burst.length_ms > start_ms:
                    out.append((begin, begin + burst.length_ms, burst.factor))
        return sorted(out)

    def rate_factor(self, ts_ms: int) -> float:
        """What the traffic (sessions and chats starting) is multiplied by at ``ts_ms``."""
        if self.silent(ts_ms):
            return 0.0
        factor = 1.0
        for index, burst in enumerate(self.bursts):
            period = (ts_ms - self.origin_ms) // burst.every_ms
            begin = self._burst_start_ms(index, burst, period)
            if begin <= ts_ms < begin + burst.length_ms:
                factor *= burst.factor
        return factor

    def adapt(self, family: str, ts_ms: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The fields of an event the store sends, or ``None`` when it sends none.

        >>> tiny = StoreShape("s", clicks=False, inventory=False)
        >>> tiny.adapt(topics.ORDERS, 0, {"order_id": "o1", "session_id": "x"})
        {'order_id': 'o1'}
        >>> tiny.adapt(topics.CLICKS, 0, {"kind": "page_view"}) is None
        True
        """
        if self.silent(ts_ms):
            return None
        if not self.clicks:
            if family == topics.CLICKS:
                return None
            if family == topics.ORDERS:
                fields.pop("session_id", None)
        if not self.inventory and family == topics.INVENTORY:
            return None
        return fields


def shape_stores(
    profiles: Sequence[TrafficProfile],
    stores: Iterable[tuple[str, int]],
    *,
    seed: int,
    origin_ms: int,
) -> dict[str, StoreShape]:
    """The shape of each ``(store_id, utc_offset_min)`` that a profile applies to.

    >>> p = [TrafficProfile("out_of_order", max_disorder_ms=500),
    ...      TrafficProfile("steady", "store-002", rate_per_s=3.0)]
    >>> shapes = shape_stores(p, [("store-001", 0), ("store-002", 60)], seed=1, origin_ms=0)
    >>> shapes["store-002"].profiles, shapes["store-002"].rate_per_s
    (('out_of_order', 'steady'), 3.0)
    >>> shape_stores(p[:1], [("store-001", 0)], seed=1, origin_ms=0)["store-001"].max_disorder_ms
    500
    >>> shape_stores([TrafficProfile("tiny", "store-009")], [("store-001", 0)], seed=1,
    ...              origin_ms=0)
    Traceback (most recent call last):
    ...
    ValueError: profile tiny for unknown store 'store-009'
    """
    stores = list(stores)
    known = {store_id for store_id, _ in stores}
    for profile in profiles:
        if profile.store_id != "*" and profile.store_id not in known:
            raise ValueError(f"profile {profile.name} for unknown store {profile.store_id!r}")
    shapes: dict[str, StoreShape] = {}
    for store_id, offset_min in stores:
        mine = [p for p in profiles if p.store_id in ("*", store_id)]
        if not mine:
            continue
        shape = StoreShape(store_id, offset_min, seed, origin_ms)
        for p in mine:
            shape = _apply(shape, p)
        shapes[store_id] = shape
    return shapes


def _apply(shape: StoreShape, p: TrafficProfile) -> StoreShape:
    shape = replace(shape, profiles=(*shape.profiles, p.name))
    if p.rate_per_s is not None:
        shape = replace(shape, rate_per_s=p.rate_per_s, order_every_ms=None)
    if p.name == "tiny":
        return replace(
            shape, order_every_ms=p.order_every_ms, rate_per_s=None, clicks=False, inventory=False
        )
    if p.name == "night_silent":
        return replace(shape, quiet_min=(*shape.quiet_min, (p.quiet_from_min, p.quiet_to_min)))
    if p.name == "burst":
        burst = Burst(p.burst_factor, p.length_ms or DEFAULT_BURST_LENGTH_MS, p.every_ms)
        return replace(shape, bursts=(*shape.bursts, burst))
    if p.name == "gap":
        start_ms = p.start_ms if p.start_ms is not None else shape.origin_ms
        gap = (start_ms, start_ms + (p.length_ms or DEFAULT_GAP_LENGTH_MS))
        return replace(shape, gaps_ms=(*shape.gaps_ms, gap))
    if p.name == "out_of_order":
        return replace(shape, max_disorder_ms=p.max_disorder_ms)
    if p.name == "variance":
        return replace(shape, variance=p.variance)
    return shape


class Timed(Protocol):
    """An event as :func:`send_order` sees it: its Kafka key (the store id) and event time."""

    @property
    def key(self) -> str: ...

    @property
    def ts_ms(self) -> int: ...


E = TypeVar("E", bound=Timed)


def send_order(
    events: Iterable[E], max_disorder_ms: Mapping[str, int], seed: int
) -> Iterator[tuple[int, E]]:
    """``(send_ms, event)`` in the order a late producer sends them.

    ``events`` must come in non-decreasing event time (as the simulator makes them). An
    event of a store with a bound ``D`` in ``max_disorder_ms`` is due at ``send_ms = ts +
    delay``, with a seeded ``delay`` uniform in ``[0, D]`` (0 for other stores); events
    are sent by ``(send_ms, position in events)``. Stores without a bound keep their order.

    The bound: an event ``b`` is never sent after an event ``a`` whose ``ts`` exceeds
    its own by more than ``D`` (its store's bound). If ``a`` is sent before ``b``, then
    ``ts_a <= send_a <= send_b <= ts_b + D``. So when ``D`` is at most the worker's grace,
    a minute ``[start, end)`` holding ``b`` (``ts_b < end``) can only have been closed by
    the store's stream time reaching ``end + grace > ts_b + D``, which no event sent before
    ``b`` has; ``b`` is never late. The release rule keeps the order exact while
    streaming: an event held back is sent once an event with ``ts >= send_ms`` arrives,
    since every later event is due no earlier than its own ``ts``.

    >>> from collections import namedtuple
    >>> Ev = namedtuple("Ev", "key ts_ms")
    >>> events = [Ev("a" if i % 3 else "b", 100 * i) for i in range(200)]
    >>> sent = [ev for _, ev in send_order(events, {"a": 450}, seed=1)]
    >>> sorted(sent) == sorted(events), sent == events  # a permutation, out of order
    (True, False)
    >>> newest = {}
    >>> ok = True
    >>> for ev in sent:  # nothing is sent after an event more than the bound newer
    ...     ok &= ev.ts_ms >= newest.get(ev.key, ev.ts_ms) - 450
    ...     newest[ev.key] = max(newest.get(ev.key, ev.ts_ms), ev.ts_ms)
    >>> ok, [ev for ev in sent if ev.key == "b"] == [ev for ev in events if ev.key == "b"]
    (True, True)
    """
    if not any(max_disorder_ms.values()):
        for ev in events:
            yield ev.ts_ms, ev
        return
    rng = random.Random(f"shoppulse-disorder:{seed}")
    held: list[tuple[int, int, E]] = []
    last_ts_ms: int | None = None
    for position, ev in enumerate(events):
        if last_ts_ms is not None and ev.ts_ms < last_ts_ms:
            raise ValueError("send_order needs events in non-decreasing event time")
        last_ts_ms = ev.ts_ms
        while held and held[0][0] <= ev.ts_ms:
            send_ms, _, due = heapq.heappop(held)
            yield send_ms, due
        bound_ms = max_disorder_ms.get(ev.key, 0)
        delay_ms = rng.randint(0, bound_ms) if bound_ms > 0 else 0
        heapq.heappush(held, (ev.ts_ms + delay_ms, position, ev))
    while held:
        send_ms, _, due = heapq.heappop(held)
        yield send_ms, due
