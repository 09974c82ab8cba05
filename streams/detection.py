"""The detection agent: final minutes from ``shoppulse.kpis`` → signals on ``shoppulse.signals``.

It reads the worker's own output topic (keyed by store, so a store's minutes stay
on one partition and in order), keeps one :class:`StoreDetectors` state per store
in an ordinary Faust table, and publishes every state change in the alert shape.
A final minute published twice (after a crash) is recognized and skipped.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from shoppulse import jsonbytes, topics
from shoppulse.settings import WorkerSettings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.store_detectors import StoreDetectors
from streams.tables import DecodedValues

log = logging.getLogger("shoppulse.detection")


def install_detection(app: Any, settings: WorkerSettings) -> None:
    kpis = app.topic(settings.topic(topics.KPIS), key_type=bytes, value_type=bytes)
    signals_topic = app.topic(settings.topic(topics.SIGNALS), key_type=bytes, value_type=bytes)
    table = app.Table(
        "store-detectors", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    table.value_serializer = "raw"
    sensitivity = settings.detection_sensitivity
    states = DecodedValues(
        table, lambda raw: StoreDetectors.from_state(orjson.loads(raw), sensitivity)
    )

    @app.agent(kpis, name="shoppulse.detection")  # type: ignore[untyped-decorator]
    async def detect(stream: Any) -> None:
        async for event in stream.events():
            try:
                snap = KpiSnapshot.from_json(event.value)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping an unreadable KPI snapshot: %s", exc)
                continue
            if not snap.final:
                continue
            detectors = states.take(snap.store_id)
            if detectors is None:
                detectors = StoreDetectors(
                    snap.store_id,
                    horizon_h=settings.stockout_horizon_h,
                    warmup=settings.detection_warmup,
                    sensitivity=sensitivity,
                )
            signals = detectors.on_final(snap)
            raw = jsonbytes.dumps(detectors.to_state())
            states.put(event.message.partition, snap.store_id, detectors, raw)
            for signal in signals:
                await signals_topic.send(key=snap.store_id.encode(), value=orjson.dumps(signal))
