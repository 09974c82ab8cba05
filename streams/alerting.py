"""The alerting agent: rules over final minutes and detector signals → ``shoppulse.alerts``.

One agent reads ``shoppulse.kpis`` (final minutes: threshold and rate-of-change rules)
and ``shoppulse.signals`` (detector signals: anomaly rules). Both are keyed by store,
so a store's records meet on one partition. Each store's
:class:`alerts.lifecycle.AlertEngine` lives in the ``alert-engines`` table, so
pending, firing and held alerts survive a restart, and every lifecycle change
(firing, repeated firing, resolved) is published to ``shoppulse.alerts``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from alerts.lifecycle import AlertEngine
from alerts.rules import RuleSet
from shoppulse import jsonbytes, topics
from shoppulse.settings import Settings
from shoppulse.snapshot import KpiSnapshot
from streams.tables import DecodedValues

log = logging.getLogger("shoppulse.alerting")


def install_alerting(app: Any, settings: Settings, rules: RuleSet) -> None:
    kpis_name, signals_name = settings.topic(topics.KPIS), settings.topic(topics.SIGNALS)
    source = app.topic(kpis_name, signals_name, key_type=bytes, value_type=bytes)
    alerts = app.topic(settings.topic(topics.ALERTS), key_type=bytes, value_type=bytes)
    table = app.Table(
        "alert-engines", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    table.value_serializer = "raw"
    engines = DecodedValues(table, lambda raw: AlertEngine.from_state(rules, orjson.loads(raw)))

    @app.agent(source, name="shoppulse.alerting")  # type: ignore[untyped-decorator]
    async def evaluate(stream: Any) -> None:
        async for event in stream.events():
            try:
                data = orjson.loads(event.value)
                if event.message.topic == signals_name:
                    store_id = str(data["labels"]["store_id"])
                    snap = None
                else:
                    snap = KpiSnapshot.from_dict(data)
                    if not snap.final:
                        continue
                    store_id = snap.store_id
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping an unreadable record: %s", exc)
                continue
            engine = engines.take(store_id)
            if engine is None:
                engine = AlertEngine(rules)
            if snap is None:
                changes = engine.on_signal(data)
            else:
                changes = engine.on_minute(
                    store_id, snap.window_start_ms, snap.kpis, snap.components
                )
                changes += engine.tick(snap.window_end_ms)
            raw = jsonbytes.dumps(engine.to_state())
            engines.put(event.message.partition, store_id, engine, raw)
            for change in changes:
                await alerts.send(key=store_id.encode(), value=orjson.dumps(change))
