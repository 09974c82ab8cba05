"""The alerting agent: rules over final minutes and detector signals → ``shoppulse.alerts``.

One agent reads ``shoppulse.kpis`` (final minutes: threshold and rate-of-change rules)
and ``shoppulse.signals`` (detector signals: anomaly rules). Both are keyed by store,
so a store's records meet on one partition. Each store's
:class:`alerts.lifecycle.AlertEngine` lives in the ``alert-engines`` table, so
pending, firing and held alerts survive a restart, and every lifecycle change
(firing, repeated firing, resolved) is published to ``shoppulse.alerts``.

Engines advance with their store's records. A store that goes quiet (a shop closed for the
night, an outage upstream) sends none, so a timer lets wall-clock time pass for the stores
of this worker's partitions that have had no record for ``alert_quiet_after_s``: a held alert
resolves when its flap window is over and a firing one repeats, while pending alerts wait
for data (:meth:`alerts.lifecycle.AlertEngine.tick` with ``promote_pending=False``).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import orjson

from alerts.lifecycle import AlertEngine
from alerts.rules import RuleSet
from shoppulse import jsonbytes, topics
from shoppulse.settings import WorkerSettings
from shoppulse.snapshot import KpiSnapshot
from shoppulse.timeutil import wall_clock_ms
from streams.tables import DecodedValues

log = logging.getLogger("shoppulse.alerting")

#: How often quiet stores are looked for (at most; twice per ``alert_quiet_after_s``).
QUIET_TICK_INTERVAL_S: Final = 30.0


def install_alerting(app: Any, settings: WorkerSettings, rules: RuleSet) -> None:
    kpis_name, signals_name = settings.topic(topics.KPIS), settings.topic(topics.SIGNALS)
    source = app.topic(kpis_name, signals_name, key_type=bytes, value_type=bytes)
    alerts = app.topic(settings.topic(topics.ALERTS), key_type=bytes, value_type=bytes)
    table = app.Table(
        "alert-engines", key_type=str, value_type=bytes, partitions=settings.topic_partitions
    )
    table.value_serializer = "raw"
    engines = DecodedValues(table, lambda raw: AlertEngine.from_state(rules, orjson.loads(raw)))
    #: store -> (partition of its records, wall-clock time of its last record here)
    last_seen: dict[str, tuple[int, int]] = {}

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
            last_seen[store_id] = (event.message.partition, wall_clock_ms())
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

    quiet_after_ms = int(settings.alert_quiet_after_s * 1000)

    @app.timer(  # type: ignore[untyped-decorator]
        interval=min(QUIET_TICK_INTERVAL_S, settings.alert_quiet_after_s / 2)
    )
    async def tick_quiet_stores() -> None:
        tables: Any = app.tables
        if app.rebalancing or not tables.recovery.completed.is_set():
            return
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == kpis_name}
        now = wall_clock_ms()
        for store_id, (partition, seen_ms) in list(last_seen.items()):
            if partition not in owned:
                del last_seen[store_id]  # its partition moved: its new owner ticks it
                continue
            if now - seen_ms < quiet_after_ms:
                continue
            engine = engines.take(store_id)
            if engine is None:
                continue
            changes = engine.tick(now, promote_pending=False)
            if not changes:
                continue  # nothing changed: the table keeps its bytes (decoded again later)
            engines.put(partition, store_id, engine, jsonbytes.dumps(engine.to_state()))
            for change in changes:
                log.info(
                    "quiet store: alert %s",
                    change["status"],
                    extra={"store_id": store_id, "alertname": change["labels"]["alertname"]},
                )
                await alerts.send(key=store_id.encode(), value=orjson.dumps(change))
