"""``shoppulse simulate``: produce seeded, realistic shop traffic to Kafka.

The traffic itself comes from the pure :class:`simulator.simulation.Simulator`;
this module is the IO edge: pacing against the wall clock, a token-bucket rate
limit, the kafka-python producer (key = store id, JSON value, ``acks=all``), an
optional JSONL copy of every produced event, a progress bar and JSON log lines.

Time: by default the simulation starts *now* and runs in real time (``ts``
follows the wall clock, ``--speedup 1``). With ``--start`` in the past the
events are produced as fast as allowed unless ``--speedup`` is given
(``--speedup 60``: one hour of event time per wall minute).

Incidents (``--incident``, repeatable): ``KIND:STORE:START:DURATION[:FACTOR]``

* ``KIND``: ``conversion_drop`` (factor multiplies the payment probability,
  default 0.5), ``stock_out`` (factor = share of the catalogue, best sellers
  first, at least one SKU; default one SKU), ``chat_surge`` (factor multiplies
  chat openings and first-response time, default 5), ``traffic_spike`` (factor
  multiplies sessions, default 3);
* ``STORE``: a store id such as ``store-001``, or ``*`` for every store;
* ``START``: offset from the simulation start, e.g. ``+10m``, ``90s``, ``1h``;
* ``DURATION``: e.g. ``30m``.

Example: ``shoppulse simulate --stores 3 --incident conversion_drop:store-001:+10m:30m:0.5``.

Store profiles (``--profile``, repeatable): ``NAME[:STORE][:PARAM=VALUE,...]``
(no ``STORE``: every store), the shapes real shops have (see
:mod:`simulator.store_profiles`): ``steady`` (``rate=``), ``tiny`` (orders only,
about one ``every=4m``), ``night_silent`` (nothing ``from=23:00`` ``to=07:00``
local time), ``burst`` (``factor=10`` for ``length=15m`` once ``every=6h``),
``gap`` (silent for ``length=17h`` from ``start=+1h``) and ``out_of_order``
(each event sent up to ``max`` late; by default, and at most, the worker's
``grace_s``, so none is late). Events are produced, and written to ``--jsonl``,
in that send order. ``--span`` bounds the event time produced.

Example: ``shoppulse simulate --start=-3d --span 2d --profile tiny:store-005
--profile gap:store-001:start=+6h,length=30h --profile out_of_order``.

Variance: the traffic is as wild as real shops' by default, every store under the
``variance`` profile (:mod:`simulator.traffic_variance`): weekday factors, a log-normal day
factor, persistent level shifts, a slow wander of the level, sessions per minute more
dispersed than Poisson (``Var = μ + μ²/100``) and payments 0-3 minutes after their checkout.
``--profile variance:STORE:PARAM=VALUE,...`` changes it for a store (``day_sd=0.2``,
``k=inf``, ...); ``--tame`` turns it off (Poisson arrivals around the daily curve, payments
seconds after the order: the stream ``shoppulse simulate`` made before), so that
``--tame --profile variance:store-001`` varies one store only. When ``--rate`` fits the
event rate, it leaves the variance room (:attr:`~simulator.traffic_variance.Variance.headroom`).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import IO

import orjson

from cli.progress import production_progress
from kafka_io.config import kafka_python_config
from shoppulse.settings import ProducerSettings
from shoppulse.timeutil import TimestampError, format_ts_ms, parse_ts_ms
from simulator.incidents import Incident
from simulator.simulation import DIURNAL_PEAK, Simulator, parse_duration_ms
from simulator.store_profiles import TrafficProfile, send_order

log = logging.getLogger("shoppulse.simulate")

PROGRESS_LOG_INTERVAL_S = 10.0
_MAX_SLEEP_S = 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``shoppulse simulate``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "incidents: --incident KIND:STORE:START:DURATION[:FACTOR]\n"
        "  KIND     conversion_drop (factor x payment probability, default 0.5)\n"
        "           stock_out (factor = share of catalogue, best sellers first; default 1 SKU)\n"
        "           chat_surge (factor x chats and first-response time, default 5)\n"
        "           traffic_spike (factor x sessions, default 3)\n"
        "  STORE    store-001 ... or * for every store\n"
        "  START    offset from the simulation start: +10m, 90s, 1h\n"
        "  DURATION length: 30m, 2h\n"
        "example: --incident conversion_drop:store-001:+10m:30m:0.5\n"
        "\n"
        "store profiles: --profile NAME[:STORE][:PARAM=VALUE,...]  (no STORE: every store)\n"
        "  steady        rate=EVENTS_PER_S: the store's mean (default: from its size)\n"
        "  tiny          orders only, one about every=4m; a chat now and then;\n"
        "                no clickstream, no inventory feed\n"
        "  night_silent  sends nothing from=23:00 to=07:00 (store's local time); rate=\n"
        "  burst         factor=10 x sessions and chats for length=15m, once per\n"
        "                every=6h period, at a seeded minute; rate=\n"
        "  gap           silent for length=17h from start=+1h, then active again; rate=\n"
        "  out_of_order  each event sent up to max=DURATION after its ts (seeded); the\n"
        "                default and the limit is the worker's grace_s, so none is late\n"
        "  variance      as wild as real shops (ON for every store unless --tame):\n"
        "                weekday=1.05/1/1/1/0.92/1.12/1.18 (Monday first), day_sd=0.12\n"
        "                (log-normal day factor, 0.7-1.4), +-15-30% level shift one day\n"
        "                in shift_days=14 (shift=0.15/0.3), wander_sd=0.08 (AR(1) of the\n"
        "                log level, wander=3h), k=100 (sessions a minute: Var = mu +\n"
        "                mu^2/k; k=inf: Poisson), conversion_sd=0.05, payments\n"
        "                lag=0.4/0.3/0.2/0.1 minutes 0/1/2/3 after checkout\n"
        "  Profiles stack on a store (silences and bursts add up; the last rate, and\n"
        "  the last variance, wins).\n"
        "  Events go to Kafka and --jsonl in send order.\n"
        "example: --start=-3d --span 2d --profile tiny:store-005 --profile night_silent:store-004\n"
        "         --profile steady:store-001:rate=30 --profile gap:store-001:start=+6h,length=30h\n"
        "         --profile out_of_order"
    )
    parser.add_argument("--stores", type=int, default=5, help="number of stores (default: 5)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        metavar="EVENTS_PER_S",
        help="upper limit of produced events per wall-clock second (token bucket)",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS", help="stop after this wall time"
    )
    stop.add_argument("--events", type=int, default=None, metavar="N", help="stop after N events")
    parser.add_argument(
        "--start",
        default="now",
        help="event-time start: 'now' (default; real time), epoch ms, RFC 3339, "
        "or a past offset written --start=-2h",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=None,
        help="event-time seconds per wall second; 0 = as fast as allowed "
        "(default: 1 when --start is now, else 0)",
    )
    parser.add_argument(
        "--event-rate",
        type=float,
        default=None,
        metavar="EVENTS_PER_S",
        help="mean simulated events per event-time second over all stores (daily average); "
        "default: from store sizes (~25/s per store), or fitted under --rate when paced",
    )
    parser.add_argument("--no-diurnal", action="store_true", help="flat traffic, no daily curve")
    parser.add_argument(
        "--tame",
        action="store_true",
        help="no variance profile for every store: Poisson sessions around the daily curve, "
        "payments seconds after the order (the stream before real shops' variance)",
    )
    parser.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="KIND:STORE:START:DURATION[:FACTOR]",
        help="inject an incident (repeatable; see below)",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME[:STORE][:PARAM=VALUE,...]",
        help="shape a store's traffic as real shops do: steady, tiny, night_silent, burst, "
        "gap, out_of_order, variance (repeatable; see below)",
    )
    parser.add_argument(
        "--span",
        default=None,
        metavar="DURATION",
        help="stop when event time reaches --start plus this, e.g. 2d (history up to a point)",
    )
    parser.add_argument(
        "--jsonl",
        default=None,
        metavar="PATH",
        help="also write every produced event as {topic, key, value} JSON lines",
    )
    parser.add_argument("--linger-ms", type=int, default=20, help="producer linger (default: 20)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


class TokenBucket:
    """A token bucket: at most ``rate_per_s`` on average, bursts up to ``burst``.

    >>> now = [0.0]
    >>> bucket = TokenBucket(10.0, burst=2.0, clock=lambda: now[0],
    ...                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> [round(bucket.acquire(), 3) for _ in range(4)]
    [0.0, 0.0, 0.1, 0.1]
    >>> now[0]
    0.2
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError("rate_per_s must be positive")
        self.rate_per_s = rate_per_s
        self.burst = max(1.0, burst if burst is not None else rate_per_s / 20.0)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._last = clock()

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens, sleeping until they are there; return the seconds slept."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now
        self._tokens -= n
        if self._tokens >= 0:
            return 0.0
        wait_s = -self._tokens / self.rate_per_s
        self._sleep(wait_s)
        return wait_s


class Pacer:
    """Maps event time to wall time: event ``ts`` is due ``(ts - start) / speedup`` after start.

    >>> p = Pacer(start_ms=1_000_000, speedup=2.0, clock=lambda: 100.0)
    >>> p.delay_s(1_010_000)  # 10 s of event time at 2x: due 5 s after the start
    5.0
    """

    def __init__(
        self, start_ms: int, speedup: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not speedup > 0:
            raise ValueError("speedup must be positive")
        self.start_ms, self.speedup, self._clock = start_ms, speedup, clock
        self._wall0 = clock()

    def delay_s(self, ts_ms: int) -> float:
        due = self._wall0 + (ts_ms - self.start_ms) / 1000.0 / self.speedup
        return max(0.0, due - self._clock())


def resolve_start_ms(text: str, now_ms: int) -> tuple[int, bool]:
    """``(start_ms, is_now)`` from ``now``, a past offset (``-2h``), epoch ms or RFC 3339.

    >>> resolve_start_ms("now", 1_700_000_000_000)
    (1700000000000, True)
    >>> resolve_start_ms("-1h", 1_700_000_000_000)
    (1699996400000, False)
    >>> resolve_start_ms("2023-11-14T22:13:20Z", 0)
    (1700000000000, False)
    """
    text = text.strip()
    if text.lower() == "now":
        return now_ms, True
    if text.startswith("-"):
        return now_ms - parse_duration_ms(text[1:]), False
    value: object = int(text) if text.isdigit() else text
    try:
        return parse_ts_ms(value), False
    except TimestampError as exc:
        raise ValueError(f"--start: {exc}") from None


def parse_profiles(
    specs: list[str], start_ms: int, grace_ms: int, *, tame: bool = True
) -> list[TrafficProfile]:
    """``--profile`` specs; ``out_of_order`` defaults to, and may not exceed, the grace.
    Unless ``tame``, a ``variance`` profile for every store comes first.

    >>> [p.max_disorder_ms for p in parse_profiles(["out_of_order", "out_of_order:max=1s"],
    ...                                             0, grace_ms=5_000)]
    [5000, 1000]
    >>> [(p.name, p.store_id) for p in parse_profiles(["variance:store-002:k=inf"], 0,
    ...                                               grace_ms=5_000, tame=False)]
    [('variance', '*'), ('variance', 'store-002')]
    >>> parse_profiles(["out_of_order:store-002:max=9s"], 0, grace_ms=5_000)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --profile out_of_order:store-002:max=9s: max 9000 ms exceeds the worker's grace...
    """
    profiles = [] if tame else [TrafficProfile("variance")]
    for spec in specs:
        profile = TrafficProfile.parse(spec, start_ms, default_max_disorder_ms=grace_ms)
        if profile.name == "out_of_order" and profile.max_disorder_ms > grace_ms:
            raise ValueError(
                f"--profile {spec}: max {profile.max_disorder_ms} ms exceeds the worker's grace "
                f"(SHOPPULSE_GRACE_S = {grace_ms / 1000} s); its events could be dead-lettered "
                "as late"
            )
        profiles.append(profile)
    return profiles


def fitted_event_rate(
    rate_per_s: float, speedup: float, profiles: list[TrafficProfile], *, diurnal: bool
) -> float:
    """The mean simulated events per event-time second that keeps a store's usual peaks
    under the ``--rate`` limit: the diurnal peak and, under ``variance``, its headroom.

    >>> round(fitted_event_rate(100.0, 1.0, [], diurnal=False), 1)
    100.0
    >>> round(fitted_event_rate(100.0, 1.0, [TrafficProfile("variance")], diurnal=False), 1)
    63.5
    """
    peak = DIURNAL_PEAK if diurnal else 1.0
    variances = [p.variance for p in profiles if p.variance is not None]
    peak *= max((v.headroom for v in variances), default=1.0)
    return rate_per_s / speedup / peak


def run(args: argparse.Namespace, settings: ProducerSettings) -> int:
    """Produce simulated traffic; 0 on success, 1 on delivery errors, 2 on bad options."""
    now_ms = int(time.time() * 1000)
    try:
        start_ms, is_now = resolve_start_ms(args.start, now_ms)
        incidents = [Incident.parse(spec, origin_ms=start_ms) for spec in args.incident]
        profiles = parse_profiles(args.profile, start_ms, settings.grace_ms, tame=args.tame)
        end_ms = start_ms + parse_duration_ms(args.span) if args.span is not None else None
        speedup = args.speedup if args.speedup is not None else (1.0 if is_now else 0.0)
        if speedup < 0:
            raise ValueError("--speedup must be >= 0")
        if args.rate is not None and not args.rate > 0:
            raise ValueError("--rate must be positive")
        events_per_s = args.event_rate
        if events_per_s is None and args.rate is not None and speedup > 0:
            events_per_s = fitted_event_rate(
                args.rate, speedup, profiles, diurnal=not args.no_diurnal
            )
        if speedup > 0 and (speedup < 1 or not is_now) and 60.0 / speedup > settings.idle_close_s:
            log.warning(
                "simulate: event time will lag the wall clock, and a minute of it lasts longer "
                "than the worker's idle_close_s: a store silent that long mid-minute (a tiny "
                "one, say) has the minute closed and its later events dead-lettered as late "
                "(ADR 17); use --speedup 0 or at least 60 / idle_close_s",
                extra={"speedup": speedup, "idle_close_s": settings.idle_close_s},
            )
        sim = Simulator(
            stores=args.stores,
            seed=args.seed,
            start_ms=start_ms,
            events_per_s=events_per_s,
            incidents=incidents,
            diurnal=not args.no_diurnal,
            profiles=profiles,
        )
    except ValueError as exc:
        log.error("simulate: bad option", extra={"error": str(exc)})
        return 2

    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    log.info(
        "simulate started",
        extra={
            "stores": args.stores,
            "seed": args.seed,
            "start": format_ts_ms(start_ms),
            "speedup": speedup,
            "rate_limit_per_s": args.rate,
            "event_rate_per_s": events_per_s,
            "incidents": args.incident,
            "profiles": args.profile,
            "variance": not args.tame,
            "span": args.span,
            "bootstrap": settings.kafka_bootstrap_servers,
            "topic_namespace": settings.topic_namespace,
        },
    )
    failures: list[str] = []
    lock = threading.Lock()

    def on_error(exc: BaseException) -> None:
        with lock:
            failures.append(repr(exc))

    sent = 0
    per_topic: dict[str, int] = {}
    last_ts_ms = start_ms
    wall0 = time.monotonic()
    interrupted = False
    try:
        with ExitStack() as stack:
            producer = KafkaProducer(
                **kafka_python_config(settings), acks="all", linger_ms=args.linger_ms
            )
            stack.callback(producer.close, 10)
            jsonl: IO[bytes] | None = None
            if args.jsonl:
                jsonl = stack.enter_context(open(args.jsonl, "wb"))
            bucket = TokenBucket(args.rate) if args.rate else None
            pacer = Pacer(start_ms, speedup) if speedup > 0 else None
            deadline = wall0 + args.duration if args.duration is not None else None
            progress = stack.enter_context(
                production_progress(
                    "simulate", enabled=not args.no_progress, known_total=bool(args.events)
                )
            )
            task = progress.add_task("simulate", total=args.events, rate="", event_time="")
            next_log = wall0 + PROGRESS_LOG_INTERVAL_S
            next_update = wall0
            topic_names: dict[str, str] = {}
            try:
                source = sim.events() if end_ms is None else sim.until(end_ms)
                for send_ms, ev in send_order(source, sim.max_disorder_ms, args.seed):
                    if args.events is not None and sent >= args.events:
                        break
                    if pacer is not None and not _wait(pacer, send_ms, deadline):
                        break
                    if bucket is not None:
                        bucket.acquire()
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    topic = topic_names.get(ev.topic_family)
                    if topic is None:
                        topic = topic_names[ev.topic_family] = settings.topic(ev.topic_family)
                    key = ev.key.encode()
                    producer.send(topic, key=key, value=orjson.dumps(ev.value)).add_errback(
                        on_error
                    )
                    if jsonl is not None:
                        jsonl.write(
                            orjson.dumps(
                                {"topic": ev.topic_family, "key": ev.key, "value": ev.value},
                                option=orjson.OPT_APPEND_NEWLINE,
                            )
                        )
                    sent += 1
                    per_topic[ev.topic_family] = per_topic.get(ev.topic_family, 0) + 1
                    last_ts_ms = ev.ts_ms
                    now = time.monotonic()
                    if now >= next_update:
                        next_update = now + 0.2
                        rate = sent / max(now - wall0, 1e-9)
                        progress.update(
                            task,
                            completed=sent,
                            rate=f"{rate:,.0f}/s",
                            event_time=format_ts_ms(last_ts_ms)[:19] + "Z",
                        )
                        if now >= next_log:
                            next_log = now + PROGRESS_LOG_INTERVAL_S
                            log.info(
                                "simulate progress",
                                extra={
                                    "sent": sent,
                                    "events_per_s": round(rate, 1),
                                    "event_time": format_ts_ms(last_ts_ms),
                                    "lag_s": round((time.time() * 1000 - last_ts_ms) / 1000, 1)
                                    if is_now
                                    else None,
                                },
                            )
            except KeyboardInterrupt:
                interrupted = True
            progress.update(task, completed=sent)
            producer.flush(timeout=60)
    except KafkaError as exc:
        log.error("simulate: kafka error", extra={"error": repr(exc), "sent": sent})
        return 1
    elapsed = time.monotonic() - wall0
    log.info(
        "simulate finished",
        extra={
            "sent": sent,
            "failed": len(failures),
            "per_topic": per_topic,
            "seconds": round(elapsed, 3),
            "events_per_s": round(sent / max(elapsed, 1e-9), 1),
            "event_time_start": format_ts_ms(start_ms),
            "event_time_end": format_ts_ms(last_ts_ms),
            "interrupted": interrupted,
            "jsonl": args.jsonl,
        },
    )
    if failures:
        log.error(
            "simulate: some events were not delivered",
            extra={"failed": len(failures), "first_error": failures[0]},
        )
        return 1
    return 0


def _wait(pacer: Pacer, ts_ms: int, deadline: float | None) -> bool:
    """Sleep until ``ts_ms`` is due; ``False`` when the deadline comes first."""
    while True:
        delay = pacer.delay_s(ts_ms)
        if delay <= 0:
            return True
        if deadline is not None and time.monotonic() + delay >= deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False
        time.sleep(min(delay, _MAX_SLEEP_S))
