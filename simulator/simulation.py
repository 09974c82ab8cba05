"""A seeded, pure traffic generator for N online stores (no Kafka, no clock).

The simulator is a small discrete-event simulation over *event time*: a heap of
scheduled actions (a visitor's next click, an order's payment, a chat reply, a
restock) is run in time order, and every action emits events stamped with its
own time. Events therefore come out in non-decreasing event-time order, and the
same ``(stores, seed, start_ms, ...)`` always gives the same events.

What it models, per store (``store-001`` is the largest; each store has a size
factor, one currency, a catalogue of SKUs with Zipf-like popularity and a UTC
offset for its diurnal curve):

* sessions arriving as a Poisson process whose rate follows :func:`diurnal_factor`
  (low at night, a mid-day peak and a higher evening peak);
* the funnel per session: ``page_view`` (landing; a paid-channel landing carries
  the ad ``cost_minor``) → ``impression`` → ``product_view`` → ``add_to_cart``
  (only when in stock) → ``checkout`` → order ``placed`` → ``paid``, so every
  session satisfies impressions ≥ product views ≥ add-to-carts ≥ checkouts;
* the order lifecycle: unpaid orders are ``cancelled`` after a payment timeout,
  a few paid orders are ``cancelled``, most are ``shipped`` hours later and some
  of those ``refunded`` days later; returning visitors re-use their customer id;
* chats: ``opened`` (with a ``complaint`` flag), customer and agent messages,
  sometimes ``transferred``/``escalated``, usually ``resolved``, often ``rated``
  (``rating`` 1 to 5, sometimes ``nps``);
* inventory: every SKU's level at the start, a new level after each sale, and
  restocks when a level falls to its reorder point;
* :class:`Incident` s: conversion drop, stock-out, chat surge, traffic spike;
* store profiles (``profiles=``, :mod:`simulator.store_profiles`): tiny, night-silent,
  bursty, gapped and out-of-order stores, as real shops are. An ``out_of_order``
  store's events still come out here in event-time order; the order a late
  producer *sends* them in is :func:`simulator.store_profiles.send_order`'s;
* traffic as wild as real shops' under the ``variance`` profile
  (:mod:`simulator.traffic_variance`): the session and chat rate times weekday, day,
  level-shift and slow-wander factors and a gamma factor per minute (sessions per minute
  ``Var = μ + μ²/100``), a day factor of the conversion, and payments 0-3 minutes after
  their checkout (0.4/0.3/0.2/0.1). Without it arrivals are Poisson around the daily
  curve and payments come 1-21 s after the order is placed, as they always have.

Event time does not follow the wall clock: generating an hour of traffic takes
as long as the CPU needs. Pacing events against the wall clock (the live demo's
"realtime" mode) is the job of the caller (``cli/simulate.py``).

>>> sim = Simulator(stores=2, seed=7, start_ms=1_700_000_000_000, events_per_s=200.0)
>>> events = sim.take(3000)
>>> len(events), events[0].key
(3000, 'store-001')
>>> all(a.ts_ms <= b.ts_ms for a, b in zip(events, events[1:]))
True
>>> sorted({e.topic_family for e in events})
['shop.chats', 'shop.clicks', 'shop.inventory', 'shop.orders']
>>> [e.value for e in Simulator(2, 7, 1_700_000_000_000, 200.0).take(3)] == [
...     e.value for e in events[:3]]
True

Real shops' variance is a profile (``shoppulse simulate`` applies it unless ``--tame``):

>>> from simulator.store_profiles import TrafficProfile
>>> wild = Simulator(2, 7, 1_700_000_000_000, 200.0, profiles=[TrafficProfile("variance")])
>>> wild.store("store-001").variance is not None, [e.key for e in wild.take(2)]
(True, ['store-001', 'store-001'])
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

from shoppulse import topics
from shoppulse.diurnal import DIURNAL_PEAK as DIURNAL_PEAK
from shoppulse.diurnal import diurnal_factor as diurnal_factor
from simulator.durations import DAY_MS as DAY_MS
from simulator.durations import HOUR_MS as HOUR_MS
from simulator.durations import MINUTE_MS as MINUTE_MS
from simulator.durations import parse_duration_ms as parse_duration_ms
from simulator.funnel import (
    CHANNEL_WEIGHTS,
    CHANNELS,
    CHAT_EXCHANGES,
    DEFAULT_SESSIONS_PER_MIN,
    EXTRA_IMPRESSIONS,
    P_ADD_TO_CART,
    P_CANCEL_AFTER_PAID,
    P_CHAT_PER_SESSION,
    P_CHECKOUT,
    P_COMPLAINT,
    P_ESCALATE,
    P_EXPERIMENT,
    P_EXTRA_PAGE_VIEW,
    P_NPS,
    P_PAY,
    P_PLACE,
    P_PRODUCT_VIEW,
    P_RATE,
    P_REFUND,
    P_RESOLVE,
    P_RETURNING_VISITOR,
    P_TRANSFER,
    RATING_WEIGHTS,
    THINK_MS,
    expected_events_per_session,
    expected_orders_per_session,
)
from simulator.incidents import Incident
from simulator.regions import CURRENCIES, REGIONS, store_currency
from simulator.store_profiles import StoreShape, TrafficProfile, shape_stores
from simulator.traffic_variance import VarianceTrack


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One generated event: its logical topic, Kafka key (the store id), JSON value, time."""

    topic_family: str
    key: str
    value: dict[str, Any]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Sku:
    sku: str
    price_minor: int
    cost_minor: int
    weight: float
    reorder_point: int
    restock_qty: int


@dataclass(slots=True)
class StoreProfile:
    """A simulated store: its size factor (1.0 = average), currency and catalogue."""

    store_id: str
    size: float
    currency: str
    utc_offset_min: int
    sessions_per_s: float
    skus: tuple[Sku, ...]
    agents: tuple[str, ...]
    shape: StoreShape | None = None
    """What its traffic profiles change (None: the steady default)."""
    variance: VarianceTrack | None = None
    """Its drawn level under the ``variance`` profile (None: tame Poisson arrivals)."""
    # Mutable simulation state.
    on_hand: dict[str, int] = field(default_factory=dict)
    restock_pending: set[str] = field(default_factory=set)
    blocked: dict[str, int] = field(default_factory=dict)
    visitors: list[str] = field(default_factory=list)
    customer_of: dict[str, str] = field(default_factory=dict)
    n_customers: int = 0
    _cum_weights: list[float] = field(default_factory=list)

    def local_ms(self, ts_ms: int) -> int:
        return ts_ms + self.utc_offset_min * MINUTE_MS


_Action = Callable[[], None]
_Process = Generator[int, None, None]  # yields the delay in ms until it runs again


class Simulator:
    """Seeded traffic for ``stores`` stores from ``start_ms`` (epoch milliseconds, event time).

    ``events_per_s`` is the total mean rate over all stores (a daily average: the
    diurnal curve moves it between about 0.14 and 2.3 times); ``None`` sizes traffic by
    :data:`DEFAULT_SESSIONS_PER_MIN` per unit of store size (≈ 25 events/s for a
    store of size 1). ``diurnal=False`` keeps the rate flat. ``rfc3339_share`` of
    events carry ``ts`` as RFC 3339 text in the store's UTC offset, the rest as
    epoch milliseconds. ``profiles`` shape single stores' traffic
    (:class:`~simulator.store_profiles.TrafficProfile`). ``currencies`` gives the first
    stores their currency, and with it their region's UTC offset (:data:`CURRENCIES`); the
    others take the default rotation.

    The simulator is resumable: :meth:`events`, :meth:`until`, :meth:`span` and
    :meth:`take` all continue from where the previous call stopped.

    >>> sim = Simulator(stores=3, seed=1, start_ms=1_700_000_000_000, events_per_s=300.0)
    >>> [s.store_id for s in sim.stores]
    ['store-001', 'store-002', 'store-003']
    >>> batch = list(sim.span(60_000))
    >>> batch[-1].ts_ms < 1_700_000_060_000 <= sim.now_ms
    True
    >>> [(s.currency, s.utc_offset_min) for s in Simulator(2, 1, 0, currencies=["JPY"]).stores]
    [('JPY', 540), ('USD', -300)]
    >>> Simulator(2, 1, 0, currencies=["XYZ"])
    Traceback (most recent call last):
    ...
    ValueError: unknown currencies ['XYZ']; known: EUR, USD, GBP, SEK, PLN, CHF, JPY, INR
    """

    def __init__(
        self,
        stores: int,
        seed: int,
        start_ms: int,
        events_per_s: float | None = None,
        *,
        incidents: Sequence[Incident] = (),
        diurnal: bool = True,
        rfc3339_share: float = 0.05,
        skus_per_store: int = 40,
        sessions_per_min: float = DEFAULT_SESSIONS_PER_MIN,
        profiles: Sequence[TrafficProfile] = (),
        currencies: Sequence[str] = (),
    ) -> None:
        if stores < 1:
            raise ValueError("stores must be at least 1")
        unknown = sorted(set(currencies) - set(CURRENCIES))
        if unknown:
            raise ValueError(f"unknown currencies {unknown}; known: {', '.join(CURRENCIES)}")
        self._currencies = tuple(currencies)
        if events_per_s is not None and not events_per_s > 0:
            raise ValueError("events_per_s must be positive")
        if not 0.0 <= rfc3339_share <= 1.0:
            raise ValueError("rfc3339_share must be within [0, 1]")
        self.seed = seed
        self.start_ms = start_ms
        self.incidents: tuple[Incident, ...] = tuple(incidents)
        self.diurnal = diurnal
        self.rfc3339_share = rfc3339_share
        self._rng = random.Random(f"shoppulse-sim:{seed}")
        self._tag = hashlib.blake2b(
            f"{seed}:{start_ms}:{stores}".encode(), digest_size=4
        ).hexdigest()
        self._heap: list[tuple[int, int, _Action]] = []
        self._seq = 0
        self._ids = 0
        self._serials = 0
        self._now = start_ms
        self._out: deque[SimEvent] = deque()
        self.stores: tuple[StoreProfile, ...] = self._make_stores(
            stores, events_per_s, skus_per_store, sessions_per_min
        )
        self._by_id = {s.store_id: s for s in self.stores}
        for inc in self.incidents:
            if inc.store_id != "*" and inc.store_id not in self._by_id:
                raise ValueError(f"incident for unknown store {inc.store_id!r}")
        self.shapes = shape_stores(
            profiles,
            [(s.store_id, s.utc_offset_min) for s in self.stores],
            seed=seed,
            origin_ms=start_ms,
        )
        per_session = (expected_events_per_session(), expected_orders_per_session())
        for store_id, shape in self.shapes.items():
            store = self._by_id[store_id]
            store.shape = shape
            store.sessions_per_s = shape.sessions_per_s(store.sessions_per_s, *per_session)
            if shape.variance is not None:
                store.variance = shape.variance.track(
                    store_id, seed=seed, origin_ms=start_ms, utc_offset_min=store.utc_offset_min
                )
        for store in self.stores:
            self._schedule(start_ms, partial(self._initial_inventory, store))
        for inc in self.incidents:
            if inc.kind == "stock_out":
                self._schedule_stock_out(inc)
        self._schedule(start_ms, self._tick)

    # -- public API ---------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """The event time the simulation has reached."""
        return self._now

    def events(self) -> Iterator[SimEvent]:
        """Every further event, endlessly, in event-time order."""
        out = self._out
        while True:
            while out:
                yield out.popleft()
            self._step()

    def until(self, end_ms: int) -> Iterator[SimEvent]:
        """The further events with ``ts < end_ms``; afterwards ``now_ms >= end_ms``."""
        out, heap = self._out, self._heap
        while True:
            if out:
                if out[0].ts_ms >= end_ms:
                    return
                yield out.popleft()
                continue
            if heap[0][0] >= end_ms:
                self._now = max(self._now, end_ms)
                return
            self._step()

    def span(self, duration_ms: int) -> Iterator[SimEvent]:
        """The further events of the next ``duration_ms`` of event time."""
        return self.until(self._now + duration_ms)

    def take(self, n: int) -> list[SimEvent]:
        """The next ``n`` events."""
        it = self.events()
        return [next(it) for _ in range(n)]

    def store(self, store_id: str) -> StoreProfile:
        return self._by_id[store_id]

    @property
    def max_disorder_ms(self) -> dict[str, int]:
        """The send-delay bound of each ``out_of_order`` store, for ``send_order``."""
        return {k: s.max_disorder_ms for k, s in self.shapes.items() if s.max_disorder_ms}

    # -- the event loop -----------------------------------------------------------------

    def _schedule(self, ts_ms: int, action: _Action) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (ts_ms, self._seq, action))

    def _step(self) -> None:
        ts_ms, _, action = heapq.heappop(self._heap)
        self._now = ts_ms
        action()

    def _start(self, process: _Process, ts_ms: int) -> None:
        """Run a generator process from ``ts_ms``; each ``yield d`` sleeps ``d`` ms."""

        def resume() -> None:
            try:
                delay = next(process)
            except StopIteration:
                return
            self._schedule(self._now + max(1, delay), resume)

        self._schedule(ts_ms, resume)

    def _serial(self) -> int:
        self._serials += 1
        return self._serials

    def _emit(self, family: str, store: StoreProfile, fields: dict[str, Any]) -> None:
        ts_ms = self._now
        if store.shape is not None:
            adapted = store.shape.adapt(family, ts_ms, fields)
            if adapted is None:
                return  # a profile keeps the store from sending it
            fields = adapted
        self._ids += 1
        rng = self._rng
        ts: int | str = ts_ms
        if self.rfc3339_share and rng.random() < self.rfc3339_share:
            ts = _rfc3339(ts_ms, store.utc_offset_min)
        value = {"event_id": f"{self._tag}-{self._ids}", "store_id": store.store_id, "ts": ts}
        value.update(fields)
        self._out.append(SimEvent(family, store.store_id, value, ts_ms))

    # -- setup --------------------------------------------------------------------------

    def _make_stores(
        self, n: int, events_per_s: float | None, skus: int, sessions_per_min: float
    ) -> tuple[StoreProfile, ...]:
        rng = self._rng
        sizes = sorted((rng.lognormvariate(0.0, 0.5) for _ in range(n)), reverse=True)
        mean = sum(sizes) / n
        sizes = [s / mean for s in sizes]
        per_session = expected_events_per_session()
        profiles = []
        for i, size in enumerate(sizes, start=1):
            store_id = f"store-{i:03d}"
            currency = store_currency(i, self._currencies)
            scale, offset = REGIONS[currency]
            if events_per_s is None:
                rate = sessions_per_min / 60.0 * size
            else:
                rate = events_per_s * size / n / per_session
            catalogue = []
            for k in range(1, skus + 1):
                price = round(rng.lognormvariate(math.log(2500), 0.7) * scale)
                price = max(1, price)
                weight = 1.0 / k**0.9  # Zipf-like popularity; SKU 1 is the best seller
                reorder = max(3, round(40 * weight * size))
                catalogue.append(
                    Sku(
                        sku=f"{store_id}-sku-{k:03d}",
                        price_minor=price,
                        cost_minor=round(price * rng.uniform(0.45, 0.75)),
                        weight=weight,
                        reorder_point=reorder,
                        restock_qty=reorder * 5,
                    )
                )
            profile = StoreProfile(
                store_id=store_id,
                size=size,
                currency=currency,
                utc_offset_min=offset,
                sessions_per_s=rate,
                skus=tuple(catalogue),
                agents=tuple(f"{store_id}-agent-{a:02d}" for a in range(1, 3 + round(3 * size))),
            )
            total = 0.0
            for sku in catalogue:
                total += sku.weight
                profile._cum_weights.append(total)
                profile.on_hand[sku.sku] = sku.restock_qty + rng.randrange(sku.restock_qty)
            # An existing customer base, so that repeat customers exist from the start.
            for _ in range(500 + round(1500 * size)):
                visitor = self._new_visitor(profile)
                if rng.random() < 0.3:
                    profile.customer_of[visitor] = self._new_customer(profile)
            profiles.append(profile)
        return tuple(profiles)

    @staticmethod
    def _new_visitor(store: StoreProfile) -> str:
        visitor = f"{store.store_id}-v{len(store.visitors) + 1}"
        store.visitors.append(visitor)
        return visitor

    @staticmethod
    def _new_customer(store: StoreProfile) -> str:
        store.n_customers += 1
        return f"{store.store_id}-c{store.n_customers}"

    # -- helpers ------------------------------------------------------------------------

    def _factor(self, kind: str, store: StoreProfile, ts_ms: int) -> float:
        factor = 1.0
        for inc in self.incidents:
            if inc.kind == kind and inc.applies(store.store_id, ts_ms):
                factor *= inc.value
        return factor

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self._rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self._rng.random()
        while p > limit:
            k += 1
            p *= self._rng.random()
        return k

    def _think(self, mean_ms: float = THINK_MS) -> int:
        return 200 + int(self._rng.expovariate(1.0 / mean_ms))

    def _pick_sku(self, store: StoreProfile) -> Sku:
        return self._rng.choices(store.skus, cum_weights=store._cum_weights)[0]

    def _inventory(self, store: StoreProfile, sku: Sku) -> None:
        self._emit(
            topics.INVENTORY,
            store,
            {"sku": sku.sku, "on_hand": store.on_hand[sku.sku], "reorder_point": sku.reorder_point},
        )

    # -- processes ----------------------------------------------------------------------

    def _tick(self) -> None:
        """Once a second: schedule the sessions and chats that start in the next second."""
        now, rng = self._now, self._rng
        for store in self.stores:
            curve = diurnal_factor(store.local_ms(now)) if self.diurnal else 1.0
            base = store.sessions_per_s * curve
            if store.shape is not None:
                base *= store.shape.rate_factor(now)
            if store.variance is not None:
                base *= store.variance.rate_factor(now)
            sessions = self._poisson(base * self._factor("traffic_spike", store, now))
            for _ in range(sessions):
                self._start(self._session(store), now + rng.randrange(1000))
            surge = self._factor("chat_surge", store, now)
            chats = self._poisson(base * P_CHAT_PER_SESSION * surge)
            for _ in range(chats):
                self._start(self._chat(store), now + rng.randrange(1000))
        self._schedule(now + 1000, self._tick)

    def _initial_inventory(self, store: StoreProfile) -> None:
        for sku in store.skus:
            self._inventory(store, sku)

    def _session(self, store: StoreProfile) -> _Process:
        rng = self._rng
        session_id = f"{store.store_id}-s{self._tag}-{self._serial()}"
        if rng.random() < P_RETURNING_VISITOR:
            visitor = rng.choice(store.visitors)
        else:
            visitor = self._new_visitor(store)
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        common: dict[str, Any] = {
            "session_id": session_id,
            "visitor_id": visitor,
            "channel": channel,
        }
        if rng.random() < P_EXPERIMENT:
            common["experiment"] = "checkout-v2"
            common["variant"] = rng.choice(("A", "B"))

        def click(kind: str, **extra: Any) -> None:
            self._emit(topics.CLICKS, store, {**common, "kind": kind, **extra})

        if channel == "paid":
            click("page_view", cost_minor=max(1, round(rng.gammavariate(2.0, 20.0))))
        else:
            click("page_view")
        cart: dict[str, tuple[Sku, int]] = {}
        for _ in range(1 + self._poisson(EXTRA_IMPRESSIONS)):
            yield self._think()
            sku = self._pick_sku(store)
            click("impression", sku=sku.sku)
            if rng.random() < P_PRODUCT_VIEW:
                yield self._think()
                click("product_view", sku=sku.sku)
                if rng.random() < P_ADD_TO_CART:
                    yield self._think()
                    qty = 1 if rng.random() < 0.85 else 2
                    in_cart = cart.get(sku.sku, (sku, 0))[1]
                    if not store.blocked.get(sku.sku) and store.on_hand[sku.sku] >= in_cart + qty:
                        click("add_to_cart", sku=sku.sku)
                        cart[sku.sku] = (sku, in_cart + qty)
            if rng.random() < P_EXTRA_PAGE_VIEW:
                yield self._think()
                click("page_view")
        variance = store.variance
        conversion = 1.0 if variance is None else variance.conversion(self._now)
        if not cart or rng.random() >= P_CHECKOUT * conversion:
            return
        yield self._think()
        click("checkout")
        if rng.random() >= P_PLACE:
            return
        lines = list(cart.values())
        if variance is None:
            yield self._think(8_000.0)
            yield from self._order(store, session_id, visitor, channel, lines)
            return
        checkout_ms = self._now
        paid_ms = variance.payment_ms(checkout_ms, rng)  # 0-3 minutes later
        yield min(self._think(8_000.0), paid_ms - checkout_ms - 1)
        yield from self._order(store, session_id, visitor, channel, lines, paid_ms)

    def _order(
        self,
        store: StoreProfile,
        session_id: str,
        visitor: str,
        channel: str,
        lines: list[tuple[Sku, int]],
        paid_ms: int | None = None,
    ) -> _Process:
        """An order placed now; paid (or not) at ``paid_ms``, or 1-21 s later if ``None``."""
        rng = self._rng
        customer = store.customer_of.get(visitor)
        if customer is None:
            customer = store.customer_of[visitor] = self._new_customer(store)
        order_id = f"{store.store_id}-o{self._tag}-{self._serial()}"
        items = [
            {"sku": sku.sku, "qty": qty, "unit_price_minor": sku.price_minor} for sku, qty in lines
        ]
        base = {
            "order_id": order_id,
            "customer_id": customer,
            "amount_minor": sum(sku.price_minor * qty for sku, qty in lines),
            "currency": store.currency,
            "items": items,
            "cost_minor": sum(sku.cost_minor * qty for sku, qty in lines),
            "channel": channel,
            "session_id": session_id,
        }

        def order(status: str) -> None:
            self._emit(topics.ORDERS, store, {**base, "status": status})

        order("placed")
        yield 1_000 + rng.randrange(20_000) if paid_ms is None else paid_ms - self._now
        p_pay = min(1.0, P_PAY * self._factor("conversion_drop", store, self._now))
        if rng.random() >= p_pay:
            yield 15 * MINUTE_MS  # payment timeout
            order("cancelled")
            return
        order("paid")
        for sku, qty in lines:
            self._sell(store, sku, qty)
        if rng.random() < P_CANCEL_AFTER_PAID:
            yield 5 * MINUTE_MS + rng.randrange(55 * MINUTE_MS)
            order("cancelled")
            return
        yield HOUR_MS + rng.randrange(7 * HOUR_MS)
        order("shipped")
        if rng.random() < P_REFUND:
            yield DAY_MS + rng.randrange(2 * DAY_MS)
            order("refunded")

    def _sell(self, store: StoreProfile, sku: Sku, qty: int) -> None:
        store.on_hand[sku.sku] = max(0, store.on_hand[sku.sku] - qty)
        self._inventory(store, sku)
        if (
            store.on_hand[sku.sku] <= sku.reorder_point
            and sku.sku not in store.restock_pending
            and not store.blocked.get(sku.sku)
        ):
            store.restock_pending.add(sku.sku)
            self._start(self._restock(store, sku), self._now)

    def _restock(self, store: StoreProfile, sku: Sku) -> _Process:
        yield 10 * MINUTE_MS + self._rng.randrange(30 * MINUTE_MS)  # supplier lead time
        store.restock_pending.discard(sku.sku)
        if store.blocked.get(sku.sku):
            return
        store.on_hand[sku.sku] += sku.restock_qty
        self._inventory(store, sku)

    def _schedule_stock_out(self, inc: Incident) -> None:
        targets = self.stores if inc.store_id == "*" else (self._by_id[inc.store_id],)
        start_ms = max(inc.start_ms, self.start_ms)
        if inc.end_ms <= start_ms:
            return
        for store in targets:
            n = max(1, round(inc.value * len(store.skus)))
            skus = sorted(store.skus, key=lambda s: -s.weight)[:n]
            self._schedule(start_ms, partial(self._stock_out, store, skus, True))
            self._schedule(inc.end_ms, partial(self._stock_out, store, skus, False))

    def _stock_out(self, store: StoreProfile, skus: list[Sku], begin: bool) -> None:
        for sku in skus:
            depth = store.blocked.get(sku.sku, 0) + (1 if begin else -1)
            store.blocked[sku.sku] = depth
            if begin:
                store.on_hand[sku.sku] = 0
            elif depth == 0:
                store.on_hand[sku.sku] += sku.restock_qty
            else:
                continue
            self._inventory(store, sku)

    def _chat(self, store: StoreProfile) -> _Process:
        rng = self._rng
        conversation_id = f"{store.store_id}-chat{self._tag}-{self._serial()}"
        visitor = rng.choice(store.visitors)
        customer = store.customer_of.get(visitor) or f"{store.store_id}-guest-{visitor}"
        complaint = rng.random() < P_COMPLAINT
        common = {"conversation_id": conversation_id, "customer_id": customer}

        def chat(kind: str, agent: str | None = None, **extra: Any) -> None:
            fields: dict[str, Any] = {**common, "kind": kind}
            if agent is not None:
                fields["agent_id"] = agent
            fields.update(extra)
            self._emit(topics.CHATS, store, fields)

        chat("opened", complaint=complaint)
        yield 500 + rng.randrange(8_000)
        chat("customer_message")
        surge = self._factor("chat_surge", store, self._now)
        yield 1_000 + int(rng.lognormvariate(math.log(14_000), 0.8) * surge)
        agent = rng.choice(store.agents)
        chat("agent_message", agent)
        transferred = False
        for _ in range(self._poisson(CHAT_EXCHANGES)):
            yield self._think(20_000.0)
            chat("customer_message")
            yield self._think(15_000.0)
            chat("agent_message", agent)
            if not transferred and rng.random() < P_TRANSFER / max(CHAT_EXCHANGES, 1.0):
                transferred = True
                yield self._think(5_000.0)
                chat("transferred", agent)
                agent = rng.choice(store.agents)
        if rng.random() < P_ESCALATE:
            yield self._think(10_000.0)
            chat("escalated", agent)
        if rng.random() >= P_RESOLVE:
            return  # the customer left without a resolution
        yield self._think(20_000.0)
        chat("resolved", agent)
        if rng.random() < P_RATE:
            yield self._think(30_000.0)
            weights = (0.3, 0.25, 0.2, 0.15, 0.1) if complaint else RATING_WEIGHTS
            rating = rng.choices((1, 2, 3, 4, 5), weights=weights)[0]
            extra: dict[str, Any] = {"rating": rating}
            if rng.random() < P_NPS:
                extra["nps"] = min(10, max(0, 2 * rating + rng.randrange(-1, 2)))
            chat("rated", agent, **extra)


def _rfc3339(ts_ms: int, offset_min: int) -> str:
    tz = UTC if offset_min == 0 else timezone(timedelta(minutes=offset_min))
    return datetime.fromtimestamp(ts_ms / 1000, tz=tz).isoformat(timespec="milliseconds")
