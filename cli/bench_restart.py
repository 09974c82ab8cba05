"""``shoppulse bench --api-restart``: how long a restarted API takes to be ready (ADR 24).

1. Real minutes: the simulator's traffic for one store, counted by the worker's own
   :class:`~shoppulse.minute_book.MinuteBook`, gives a few real final snapshots (sketches,
   per-agent counts and all).
2. They are cloned into ``stores`` x ``days`` of minutes up to now, as the worker publishes
   them: ``provisional`` snapshots a minute (the worker's one a second while a busy minute is
   open) then the final on ``shoppulse.kpis``, the final also on ``shoppulse.kpis.final``
   with the worker's horizons (one per source partition and minute), the current minute open;
   record timestamps are the publication times.
3. An API (:func:`api.app.create_app`, in process, its lifespan and its HTTP routes through
   an ASGI transport) starts, twice: reading ``shoppulse.kpis`` from the cutoff (``full``, as
   before ADR 24) and reading the finals first (``finals``). Each is timed from its start to
   ``/readyz`` answering 200, and then the first ``store=all&window=today`` request; the two
   views must hold the same minutes.

One JSON object: the scale, the records produced, each start's seconds, records read and the
ratios ``full / finals``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from api.app import create_app
from api.view import KpiView
from kafka_io.config import aiokafka_config
from shoppulse import topics
from shoppulse.events import Rejection, decode_event
from shoppulse.final_log import Horizon, final_key, horizon_key, open_from_ms
from shoppulse.minute_book import MinuteBook
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from simulator.simulation import Simulator

MIN: Final = 60_000
DAY: Final = 24 * 60 * MIN
GRACE_MS: Final = 5_000
TEMPLATES: Final = 8


def real_minutes(seed: int, n: int = TEMPLATES) -> list[KpiSnapshot]:
    """``n`` final snapshots of one simulated store's minutes, counted by a MinuteBook."""
    start = int(time.time() * 1000) // MIN * MIN - 2 * DAY
    sim = Simulator(stores=1, seed=seed, start_ms=start)
    book = MinuteBook(window_ms=MIN, grace_ms=0, idle_ms=10**9, max_future_ms=10**12)
    finals: list[KpiSnapshot] = []
    for ev in sim.until(start + (n + 2) * MIN):
        event = decode_event(ev.topic_family, orjson.dumps(ev.value))
        if not isinstance(event, Rejection):
            book.ingest(event, partition=0, arrival_ms=ev.ts_ms)
        for minute in book.due(ev.ts_ms):
            finals.append(book.close(minute, emitted_at_ms=ev.ts_ms))
    return finals[-n:]


def _clone(
    template: dict[str, Any], store: str, start: int, revision: int, final: bool, at: int
) -> bytes:
    template.update(
        store_id=store,
        window_start_ms=start,
        window_end_ms=start + MIN,
        window_start=None,
        window_end=None,
        final=final,
        revision=revision,
        emitted_at_ms=at,
    )
    return orjson.dumps(template)


def produce_history(
    settings: Settings, *, stores: int, days: float, provisional: int, seed: int
) -> dict[str, Any]:
    """Publish the snapshots and horizons the worker would have, up to now."""
    return asyncio.run(_produce(settings, stores, days, provisional, seed))


async def _produce(
    settings: Settings, stores: int, days: float, provisional: int, seed: int
) -> dict[str, Any]:
    templates = [s.to_dict() for s in real_minutes(seed)]
    producer = AIOKafkaProducer(
        **aiokafka_config(settings),
        acks="all",
        linger_ms=20,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    kpis, finals = settings.topic(topics.KPIS), settings.topic(topics.KPIS_FINAL)
    partitions = settings.topic_partitions
    now = int(time.time() * 1000)
    first = now // MIN * MIN - int(days * DAY) // MIN * MIN
    counts: dict[str, Any] = {"kpis": 0, "kpis_final": 0, "bytes": 0}
    open_first: dict[int, list[int]] = {}
    pending: list[asyncio.Future[Any]] = []

    async def send(topic: str, key: bytes, value: bytes, at: int, part: int | None = None) -> None:
        pending.append(await producer.send(topic, value, key=key, partition=part, timestamp_ms=at))
        if len(pending) >= 5_000:
            await asyncio.gather(*pending)
            pending.clear()

    started = time.perf_counter()
    try:
        for minute in range(first, now // MIN * MIN + MIN, MIN):
            closed = minute + MIN + GRACE_MS <= now
            for i in range(stores):
                store, partition = f"store-{i:03d}", i % partitions
                template = templates[(minute // MIN + i) % len(templates)]
                for rev in range(1, provisional + 1):
                    at = minute + rev * MIN // (provisional + 1)
                    if at > now:
                        break
                    value = _clone(template, store, minute, rev, False, at)
                    await send(kpis, store.encode(), value, at)
                    counts["kpis"] += 1
                    counts["bytes"] += len(value)
                    if rev == 1 and not closed:
                        open_first.setdefault(partition, []).append(at)
                if closed:
                    at = minute + MIN + GRACE_MS
                    value = _clone(template, store, minute, provisional + 1, True, at)
                    await send(kpis, store.encode(), value, at)
                    await send(finals, final_key(store, minute), value, at, partition)
                    counts["kpis"] += 1
                    counts["kpis_final"] += 1
                    counts["bytes"] += len(value)
            if closed:  # the worker's horizons, once a minute
                at = minute + MIN + GRACE_MS
                for p in range(partitions):
                    horizon = Horizon(p, partitions, open_from_ms([minute + MIN], at), at)
                    await send(finals, horizon_key(p), horizon.to_json(), at, p)
                    counts["kpis_final"] += 1
        for p in range(partitions):  # the last ones, with the minutes open now
            horizon = Horizon(p, partitions, open_from_ms(open_first.get(p, []), now), now)
            await send(finals, horizon_key(p), horizon.to_json(), now, p)
            counts["kpis_final"] += 1
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["snapshot_bytes_mean"] = counts["bytes"] // max(counts["kpis"], 1)
    return counts


def _minutes(view: KpiView) -> dict[tuple[str, int], tuple[int, bool]]:
    return {
        (store, snap.window_start_ms): (snap.revision, snap.final)
        for store in view.stores()
        for snap in view.minutes(store, 0, 2**62)
    }


async def time_start(
    settings: Settings, *, finals_first: bool, timeout_s: float
) -> tuple[dict[str, Any], dict[tuple[str, int], tuple[int, bool]]]:
    """Start an API; seconds to ready and to the first all-stores request; its minutes."""
    app = create_app(settings, finals_first=finals_first)
    transport = httpx.ASGITransport(app=app)
    started = time.perf_counter()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        deadline = started + timeout_s
        while (await client.get("/readyz")).status_code != 200:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"API not ready after {timeout_s:.0f}s")
            await asyncio.sleep(0.05)
        ready_s = time.perf_counter() - started
        response = await client.get("/api/v1/kpis", params={"store": "all", "window": "today"})
        response.raise_for_status()
        total_s = time.perf_counter() - started
        feed = app.state.feed
        result = {
            "ready_s": round(ready_s, 2),
            "first_all_stores_request_s": round(total_s - ready_s, 3),
            "total_s": round(total_s, 2),
            "records_read": feed.stats.records,
            "records_per_s": round(feed.stats.records / max(ready_s, 1e-3)),
            "tail_from_ms": feed.tail_from_ms,
        }
        return result, _minutes(app.state.view)


def measure_api_restart(
    settings: Settings,
    *,
    stores: int,
    days: float,
    provisional: int,
    seed: int,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """The benchmark; see the module docstring."""
    produced = produce_history(
        settings, stores=stores, days=days, provisional=provisional, seed=seed
    )
    full, full_minutes = asyncio.run(time_start(settings, finals_first=False, timeout_s=timeout_s))
    finals, finals_minutes = asyncio.run(
        time_start(settings, finals_first=True, timeout_s=timeout_s)
    )
    return {
        "benchmark": "api-restart",
        "stores": stores,
        "days": days,
        "provisional_per_minute": provisional,
        "partitions": settings.topic_partitions,
        "produced": produced,
        "full": full,
        "finals": finals,
        "same_minutes": full_minutes == finals_minutes,
        "minutes": len(finals_minutes),
        "ratio_ready": round(full["ready_s"] / max(finals["ready_s"], 1e-3), 2),
        "ratio_total": round(full["total_s"] / max(finals["total_s"], 1e-3), 2),
        "ratio_records": round(full["records_read"] / max(finals["records_read"], 1), 2),
    }


__all__ = ["measure_api_restart", "produce_history", "real_minutes", "time_start"]
