"""The websocket fan-out benchmark of ``shoppulse bench --fanout N``.

A real ``shoppulse api`` process follows ``shoppulse.kpis``; this process produces
provisional KPI snapshots for ``stores`` stores, ``updates_per_s`` per store, each stamped with
its wall-clock ``emitted_at_ms``, while N websocket clients follow either one store each
(``store_mode="one"``: client *i* follows store *i* mod ``stores``) or ``all``. The push lag
of a message is its arrival time at a client minus ``emitted_at_ms`` (one host, one clock):
it covers Kafka, the API's feed, the fan-out and the client's own event loop.

Three rounds run against the same API process, each with fresh connections:

1. ``baseline_one_client``: one client alone, following ``all`` in either mode (every
   update, so the most samples; a message takes the same path for one store or all);
2. ``fanout``: the N clients;
3. ``fanout_with_stalled``: the N clients again, plus ``stalled`` clients that follow ``all``,
   shrink their receive buffer and never read until the round ends. They connect first, and
   :data:`STALLED_FILL_UPDATES` updates are produced at once to fill their sockets, so
   that during the measured part the server's sends to them wait on a full socket (the
   server coalesces their updates; a send that waits 10 s gets the client dropped, counted
   from the API's log as ``server_slow_drops``). The p99 lag of the N healthy clients here
   against round 2 shows whether a stalled client delays the others.

A warm-up round of one client (:data:`WARM_UP_S`, not reported) comes first.

Clients are coalesced, never blocking, so a client that falls behind gets fewer, fresher
messages (see ``docs/websocket.md``): each round gives the share of the updates due that the
healthy clients received. A client the server closes (1013 for a client too slow to read,
or any other close) is counted as dropped, one whose handshake fails (a refused key: HTTP
403) as refused; neither stops the run. The API process runs without API keys (see
:func:`cli.processes.local_api_settings`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Final, Literal

import orjson
from rich.progress import Progress
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from cli.processes import Child, local_api_settings, shoppulse_command
from kafka_io.config import kafka_python_config
from shoppulse import topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot

StoreMode = Literal["one", "all"]
STORE_MODES: Final[tuple[StoreMode, ...]] = ("one", "all")
STALLED_RCVBUF_BYTES: Final = 4096
"""A stalled client's socket receive buffer: small, so the server's sends back up soon."""
STALLED_FILL_UPDATES: Final = 2000
"""Updates produced, before the healthy clients connect, to fill the stalled clients' sockets
(about 1.3 kB each, 2.6 MB; the server's socket and transport buffer towards a client with a
4 kB receive buffer hold some 150 kB before its sends wait)."""
WARM_UP_S: Final = 3.0
"""A first round of one client, not reported: the API's feed and the producer settle."""
STALLED_FILL_PER_S: Final = 2500.0
SLOW_DROP_LOG: Final = "dropping a websocket client that does not read"
"""What the API logs when it drops a client for being slow (:mod:`api.routers.live`)."""
_DRAIN_QUIET_S: Final = 0.5
_DRAIN_DEADLINE_S: Final = 10.0


def store_id(index: int) -> str:
    """The id of the bench's store ``index``.

    >>> store_id(7)
    'store-007'
    """
    return f"store-{index:03d}"


def followed_store(client: int, stores: int, mode: StoreMode) -> str:
    """The store (or ``all``) that healthy client ``client`` follows.

    >>> [followed_store(i, 2, "one") for i in range(3)], followed_store(5, 2, "all")
    (['store-000', 'store-001', 'store-000'], 'all')
    """
    return "all" if mode == "all" else store_id(client % stores)


def default_stalled(clients: int) -> int:
    """Stalled clients when none are asked for: 1 % of the healthy ones, at least one.

    >>> default_stalled(20), default_stalled(1000)
    (1, 10)
    """
    return max(1, clients // 100)


class Outcome(Enum):
    """How a client's connection ended."""

    REFUSED = "refused"  # the handshake failed (HTTP 403, timeout, connection refused)
    DROPPED = "dropped"  # the server closed it (or it broke) before the round ended
    STAYED = "stayed"  # open until the round ended


@dataclass
class _Tally:
    """What the healthy clients of one round received."""

    lags_ms: list[float] = field(default_factory=list)
    messages: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class GroupResult:
    """One group of clients of a round: how many, and how their connections ended."""

    clients: int
    connected: int
    dropped: int

    def to_json(self) -> dict[str, int]:
        return {"clients": self.clients, "connected": self.connected, "dropped": self.dropped}


def group_result(outcomes: Sequence[Outcome]) -> GroupResult:
    """Count ``outcomes``.

    >>> group_result([Outcome.STAYED, Outcome.DROPPED, Outcome.REFUSED])
    GroupResult(clients=3, connected=2, dropped=1)
    """
    return GroupResult(
        clients=len(outcomes),
        connected=sum(o is not Outcome.REFUSED for o in outcomes),
        dropped=sum(o is Outcome.DROPPED for o in outcomes),
    )


@dataclass(frozen=True)
class FanoutResult:
    """One round: the healthy clients' push lag and delivery, and the stalled clients."""

    follows: StoreMode
    healthy: GroupResult
    stalled: GroupResult
    updates_sent: int
    messages: int
    messages_due: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    refusals: dict[str, int]
    closes: dict[str, int]
    server_slow_drops: int = 0

    @property
    def delivered_share(self) -> float:
        return self.messages / self.messages_due if self.messages_due else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "follows": self.follows,
            **self.healthy.to_json(),
            "stalled": self.stalled.to_json(),
            "updates_sent": self.updates_sent,
            "messages": self.messages,
            "p50_lag_ms": _ms(self.p50_ms),
            "p99_lag_ms": _ms(self.p99_ms),
            "max_lag_ms": _ms(self.max_ms),
            "delivered_share": round(self.delivered_share, 4),
            "refused_because": self.refusals,
            "closed_because": self.closes,
            "server_slow_drops": self.server_slow_drops,
        }


def _ms(value: float) -> float | None:
    return None if value != value else round(value, 1)  # NaN: no message arrived


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([5, 1, 4, 2, 3], 0.5), percentile(list(range(1, 101)), 0.99)
    (3, 99)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-int(q * len(ordered) * 1000) // 1000))  # ceil without float drift
    return ordered[min(rank, len(ordered)) - 1]


def ratio(value: float, baseline: float) -> float | None:
    """``value / baseline`` to two decimals, or ``None`` when there is no baseline.

    >>> ratio(300.0, 100.0), ratio(1.0, 0.0), ratio(1.0, float("nan"))
    (3.0, None, None)
    """
    if not baseline or baseline != baseline or value != value:
        return None
    return round(value / baseline, 2)


def raise_fd_limit(needed: int) -> None:
    """Allow ``needed`` open files (sockets) in this process and the children it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def slow_drops_logged(log_path: Path) -> int:
    """How many clients the API has dropped for being slow, from its log at ``log_path``."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return 0
    return text.count(SLOW_DROP_LOG)


def _close_reason(exc: ConnectionClosed) -> str:
    rcvd = exc.rcvd
    return str(rcvd.code) if rcvd is not None else "no close frame"


async def _open(url: str, refusals: Counter[str], **options: Any) -> ClientConnection | None:
    """A connection to ``url``, or ``None`` (counted in ``refusals``) if the handshake fails."""
    try:
        return await connect(url, max_size=2**24, open_timeout=30, proxy=None, **options)
    except InvalidHandshake as exc:  # InvalidStatus: the server answered 4xx/5xx
        status = getattr(getattr(exc, "response", None), "status_code", None)
        refusals[f"HTTP {status}" if status else type(exc).__name__] += 1
    except OSError as exc:  # refused, reset, or the open timeout (TimeoutError)
        refusals[type(exc).__name__] += 1
    return None


async def _client(url: str, tally: _Tally, stop: asyncio.Event) -> Outcome:
    """A healthy client: read every message and note the push lag of each update."""
    ws = await _open(url, tally.refusals, close_timeout=2)
    if ws is None:
        return Outcome.REFUSED
    try:
        async with ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now_ms = time.time() * 1000
                msg = orjson.loads(raw)
                if msg.get("type") == "update":
                    tally.lags_ms.append(now_ms - msg["snapshot"]["emitted_at_ms"])
                    tally.messages += 1
    except ConnectionClosed as exc:
        tally.closes[_close_reason(exc)] += 1
        return Outcome.DROPPED
    except OSError as exc:
        tally.closes[type(exc).__name__] += 1
        return Outcome.DROPPED
    return Outcome.STAYED


async def _stalled_client(
    url: str, host: str, port: int, refusals: Counter[str], stop: asyncio.Event
) -> Outcome:
    """A client that never reads until ``stop``: a small socket receive buffer, one queued
    frame, no keepalive pings. Then it drains what the server kept for it, to learn whether
    the server dropped it meanwhile (a close, or a broken connection, before the data ends)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    except OSError as exc:
        sock.close()
        refusals[type(exc).__name__] += 1
        return Outcome.REFUSED
    ws = await _open(url, refusals, sock=sock, max_queue=1, ping_interval=None, close_timeout=1)
    if ws is None:
        sock.close()
        return Outcome.REFUSED
    try:
        async with ws:
            await stop.wait()
            deadline = time.monotonic() + _DRAIN_DEADLINE_S
            while time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(ws.recv(), timeout=_DRAIN_QUIET_S)
                except TimeoutError:
                    break  # drained and still open
    except (ConnectionClosed, OSError):
        return Outcome.DROPPED
    return Outcome.STAYED


def _produce(
    settings: Settings,
    seconds: float,
    stores: int,
    per_s: float,
    on_progress: Callable[[float], object],
    limit: int | None = None,
) -> Counter[str]:
    """Produce snapshots at a steady rate from a thread (the clients' event loop may be busy),
    for ``seconds`` or until ``limit`` are sent; return how many were sent per store."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka_python_config(settings), linger_ms=0, acks=1)
    topic = settings.topic(topics.KPIS)
    producer.partitions_for(topic)  # the metadata now, not in the first message's lag
    minute = int(time.time() // 60 * 60_000)
    interval = 1.0 / (stores * per_s)
    started = time.monotonic()
    sent: Counter[str] = Counter()
    n = 0
    while (elapsed := time.monotonic() - started) < seconds and n != limit:
        store = store_id(n % stores)
        snap = KpiSnapshot(
            store_id=store,
            window_start_ms=minute,
            window_end_ms=minute + 60_000,
            final=False,
            revision=time.time_ns() // 1000,  # grows across rounds: the view keeps the latest
            currency="EUR",
            components={"orders_paid": n, "gmv_minor": 1_000 * n, "sessions": 10},
            emitted_at_ms=int(time.time() * 1000),
        )
        producer.send(topic, key=store.encode(), value=snap.to_json())
        sent[store] += 1
        n += 1
        on_progress(elapsed)
        time.sleep(max(0.0, started + n * interval - time.monotonic()))
    producer.flush()
    producer.close()
    return sent


@dataclass(frozen=True)
class _Target:
    host: str
    port: int

    def url(self, store: str) -> str:
        return f"ws://{self.host}:{self.port}/ws/live?store={store}"


async def _run_round(
    settings: Settings,
    target: _Target,
    *,
    clients: int,
    stalled: int,
    mode: StoreMode,
    seconds: float,
    stores: int,
    per_s: float,
) -> FanoutResult:
    tally = _Tally()
    stop = asyncio.Event()
    stalled_tasks = [
        asyncio.create_task(
            _stalled_client(target.url("all"), target.host, target.port, tally.refusals, stop)
        )
        for _ in range(stalled)
    ]
    if stalled:  # fill their sockets first, so that the server's sends to them block
        await asyncio.sleep(1.0 + stalled / 200)
        await asyncio.to_thread(
            _produce,
            settings,
            60.0,
            stores,
            STALLED_FILL_PER_S / stores,
            lambda _: None,
            STALLED_FILL_UPDATES,
        )
        await asyncio.sleep(2.0)  # the API has offered them all
    follows = [followed_store(i, stores, mode) for i in range(clients)]
    healthy = [asyncio.create_task(_client(target.url(s), tally, stop)) for s in follows]
    await asyncio.sleep(min(10.0, 1.0 + clients / 200))  # let the connections open
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{clients} clients, {stalled} stalled", total=seconds)
        sent = await asyncio.to_thread(
            _produce,
            settings,
            seconds,
            stores,
            per_s,
            lambda done: progress.update(task, completed=done),
        )
    await asyncio.sleep(2.0)  # the last pushes arrive
    stop.set()
    outcomes = await asyncio.gather(*healthy)
    stalled_outcomes = await asyncio.gather(*stalled_tasks)
    total = sum(sent.values())
    due = sum(
        total if s == "all" else sent[s]
        for s, o in zip(follows, outcomes, strict=True)
        if o is not Outcome.REFUSED
    )
    return FanoutResult(
        follows=mode,
        healthy=group_result(outcomes),
        stalled=group_result(stalled_outcomes),
        updates_sent=total,
        messages=tally.messages,
        messages_due=due,
        p50_ms=percentile(tally.lags_ms, 0.5),
        p99_ms=percentile(tally.lags_ms, 0.99),
        max_ms=max(tally.lags_ms, default=float("nan")),
        refusals=dict(tally.refusals),
        closes=dict(tally.closes),
    )


def measure_fanout(
    settings: Settings,
    workdir: Path,
    *,
    clients: int,
    seconds: float = 20.0,
    stores: int = 20,
    updates_per_s: float = 1.0,
    store_mode: StoreMode = "all",
    stalled: int | None = None,
) -> dict[str, Any]:
    """After a warm-up, run the baseline (1 client), then ``clients`` clients, then
    ``clients`` clients with ``stalled`` stalled ones (default :func:`default_stalled`; 0: no
    such round), each against the same API process, and report them with the p99 ratios."""
    if store_mode not in STORE_MODES:
        raise ValueError(f"store_mode must be one of {STORE_MODES}, not {store_mode!r}")
    n_stalled = default_stalled(clients) if stalled is None else stalled
    raise_fd_limit(2 * (clients + n_stalled) + 256)
    api_settings = local_api_settings(settings)
    target = _Target(api_settings.api_host, api_settings.api_port)
    api = Child("api", shoppulse_command("api"), workdir / "api.log", env=api_settings.to_env())
    api.start()

    def run(n: int, k: int, mode: StoreMode, round_s: float = seconds) -> FanoutResult:
        before = slow_drops_logged(api.log_path)
        result = asyncio.run(
            _run_round(
                settings,
                target,
                clients=n,
                stalled=k,
                mode=mode,
                seconds=round_s,
                stores=stores,
                per_s=updates_per_s,
            )
        )
        time.sleep(0.5)  # the API's last lines reach its log
        return replace(result, server_slow_drops=slow_drops_logged(api.log_path) - before)

    try:
        api.wait_for("Application startup complete", 60)
        run(1, 0, "all", WARM_UP_S)
        baseline = run(1, 0, "all")
        loaded = run(clients, 0, store_mode)
        with_stalled = run(clients, n_stalled, store_mode) if n_stalled else None
    finally:
        with contextlib.suppress(Exception):
            api.stop()
    result: dict[str, Any] = {
        "store_mode": store_mode,
        "baseline_one_client": baseline.to_json(),
        "fanout": loaded.to_json(),
        "p99_ratio_to_baseline": ratio(loaded.p99_ms, baseline.p99_ms),
    }
    if with_stalled is not None:
        result["fanout_with_stalled"] = with_stalled.to_json()
        result["p99_ratio_stalled_to_fanout"] = ratio(with_stalled.p99_ms, loaded.p99_ms)
        result["p99_ratio_stalled_to_baseline"] = ratio(with_stalled.p99_ms, baseline.p99_ms)
    result.update({"stores": stores, "updates_per_s": stores * updates_per_s, "seconds": seconds})
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fan-out options of ``shoppulse bench`` (besides ``--fanout`` and
    ``--fanout-seconds``)."""
    parser.add_argument(
        "--fanout-store",
        choices=STORE_MODES,
        default="all",
        help="fan-out clients follow one store each (round robin over the stores) or all",
    )
    parser.add_argument(
        "--fanout-stalled",
        type=int,
        default=None,
        metavar="K",
        help="a third fan-out round adds K clients that never read (default: 1 %% of the "
        "clients, at least 1; 0: no such round)",
    )


def options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`measure_fanout` from :func:`add_arguments`' options
    (defaults when the parser lacks them)."""
    mode: StoreMode = getattr(args, "fanout_store", "all")
    stalled: int | None = getattr(args, "fanout_stalled", None)
    return {"store_mode": mode, "stalled": stalled}
