"""``shoppulse dispatcher``: ``shoppulse.alerts`` → routes → Slack, e-mail, webhooks, Alertmanager.

At least once, and one receiver never holds up another:

* One consumer in the group ``SHOPPULSE_DISPATCHER_GROUP_ID`` reads ``shoppulse.alerts`` with
  auto-commit off. Each record is decided by :class:`alerts.dispatch_policy.DispatchState`
  (routes, silences, acknowledgements from ``shoppulse.alert-actions``) and put on the queue
  of every receiver it is routed to.
* Every receiver has its own queue and delivery task, so a slow or failing receiver only
  delays itself; deliveries to one receiver keep the order of the records (a resolved
  message never overtakes its firing). Failed attempts are retried with the receiver's
  exponential backoff; when attempts run out the notification is recorded on
  ``shoppulse.undeliverable`` with the reason, and counted.
* An offset is committed only when every delivery of its record and of all records before
  it has finished (:class:`alerts.commit_tracker.OffsetTracker`). A dispatcher killed in
  the middle of a delivery re-reads those records when it restarts, so some notifications
  may be sent twice, never lost; each carries a stable ``notificationId`` (the record's
  partition and offset) for receivers that want to drop duplicates.
* At start the dispatcher reads the last ``SHOPPULSE_DISPATCHER_REPLAY_H`` hours before the
  committed offsets again without delivering them, to know which alerts are firing; these are
  re-sent to Alertmanager receivers every ``alertmanager_resend`` (Alertmanager resolves an
  alert that is not re-sent; a resolved one is sent with ``endsAt``). On the group's first
  start it delivers the records of the last ``SHOPPULSE_DISPATCHER_BACKFILL_S`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from prometheus_client import CollectorRegistry

from alerts.action_log import ActionLog
from alerts.actions import ActionBook
from alerts.commit_tracker import OffsetTracker
from alerts.dispatch_policy import DispatchState, InvalidAlertError
from alerts.dispatcher_metrics import DispatcherMetrics
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.base import DeliveryError, DeliveryResult, Notifier, deliver_with_retries
from alerts.notifiers.factory import build_notifier
from alerts.receivers import DispatcherConfig, ReceiverConfig
from kafka_io.config import aiokafka_config
from shoppulse import topics
from shoppulse.settings import DispatcherSettings
from shoppulse.timeutil import format_ts_ms, wall_clock_ms

log = logging.getLogger("shoppulse.dispatcher")

ClockMs = Callable[[], int]
_COMMIT_INTERVAL_S: Final = 1.0
_ACTIONS_READY_TIMEOUT_S: Final = 60.0


@dataclass
class _Record:
    """One alert record in flight, finished when every receiver's delivery has finished."""

    tp: TopicPartition
    offset: int
    alert: Mapping[str, Any]
    remaining: int
    finished: Callable[[_Record], None]
    notification_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.notification_id = f"{self.alert.get('fingerprint')}/{self.tp.partition}:{self.offset}"

    def one_done(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.finished(self)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._d = dispatcher

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._d.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._d.partitions_assigned(assigned)


class Dispatcher:
    """Consumes alert state changes and delivers them (see the module docstring)."""

    def __init__(
        self,
        settings: DispatcherSettings,
        config: DispatcherConfig,
        *,
        registry: CollectorRegistry,
        clock_ms: ClockMs = wall_clock_ms,
        actions: ActionLog | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.metrics = DispatcherMetrics.create(registry)
        self.metrics.prepare(
            [r.name for r in config.receivers],
            alertmanager=[r.name for r in config.receivers if r.kind == "alertmanager"],
        )
        self.state = DispatchState(config)
        self._clock_ms = clock_ms
        self._actions = actions or ActionLog(settings, client_id="shoppulse-dispatcher-actions")
        self.metrics.silences_active.set_function(self._silences_active)
        self._tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self._deliver_from: dict[TopicPartition, int] = {}
        self._queues: dict[str, asyncio.Queue[_Record]] = {
            r.name: asyncio.Queue() for r in config.receivers
        }
        self._room = asyncio.Event()  # set while fewer records than the maximum are in flight
        self._room.set()
        self._idle = asyncio.Event()  # set when nothing is in flight (for the drain)
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._http: httpx.AsyncClient | None = None
        self._notifiers: dict[str, Notifier] = {}
        self.ready = asyncio.Event()

    @property
    def book(self) -> ActionBook:
        return self._actions.book

    def _silences_active(self) -> float:
        now = self._clock_ms()
        return float(sum(1 for s in self.book.silences() if s.state(now) == "active"))

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set; then drain (bounded), commit and close."""
        s = self.settings
        self._http = httpx.AsyncClient()
        self._notifiers = {
            r.name: build_notifier(r, s.dashboard_url, self._http) for r in self.config.receivers
        }
        await self._actions.start()
        if not await self._actions.wait_ready(_ACTIONS_READY_TIMEOUT_S):
            log.warning("acknowledgements and silences not caught up yet; dispatching anyway")
        self._producer = AIOKafkaProducer(**aiokafka_config(s), acks="all", enable_idempotence=True)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **aiokafka_config(s),
            group_id=s.dispatcher_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=int(s.dispatcher_session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.dispatcher_heartbeat_interval_s * 1000),
        )
        await self._consumer.start()
        self._consumer.subscribe([s.topic(topics.ALERTS)], listener=_Rebalance(self))
        tasks = [
            asyncio.create_task(self._deliver_loop(r), name=f"deliver-{r.name}")
            for r in self.config.receivers
        ]
        tasks.append(asyncio.create_task(self._commit_loop(), name="commit"))
        tasks.extend(
            asyncio.create_task(self._resend_loop(r), name=f"resend-{r.name}")
            for r in self.config.receivers
            if r.kind == "alertmanager"
        )
        try:
            await self._consume(stop)
        finally:
            await self._drain(self.settings.dispatcher_drain_s)
            await self._commit()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._consumer.stop()
            await self._producer.stop()
            await self._actions.stop()
            await self._http.aclose()
            log.info("dispatcher stopped")

    async def _consume(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        while not stop.is_set():
            await self._wait_for_room(stop)
            batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                for record in records:
                    await self._on_record(tp, record)

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        while self._tracker.in_flight() >= self.settings.dispatcher_max_in_flight:
            self._room.clear()
            waiter = asyncio.create_task(self._room.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
            if stop.is_set():
                return

    async def _drain(self, timeout_s: float) -> None:
        if self._tracker.in_flight():
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout_s)
        if self._tracker.in_flight():
            log.warning(
                "stopping with deliveries unfinished; they are sent again after a restart",
                extra={"in_flight": self._tracker.in_flight()},
            )

    # --- partitions ---------------------------------------------------------------------

    async def partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Resume delivery at the committed offsets, re-reading earlier history to learn
        which alerts are firing."""
        consumer = self._consumer
        assert consumer is not None
        now = self._clock_ms()
        s = self.settings
        if not assigned:
            self.ready.set()
            return
        ends = await consumer.end_offsets(assigned)
        history = await consumer.offsets_for_times(
            {tp: max(0, now - int(s.dispatcher_replay_h * 3_600_000)) for tp in assigned}
        )
        backfill = await consumer.offsets_for_times(
            {tp: max(0, now - int(s.dispatcher_backfill_s * 1000)) for tp in assigned}
        )
        for tp in assigned:
            committed = await consumer.committed(tp)
            if committed is None:  # the group's first start
                found = backfill.get(tp)
                committed = found.offset if found is not None else ends[tp]
            found = history.get(tp)
            start = min(found.offset if found is not None else ends[tp], committed)
            self._deliver_from[tp] = committed
            consumer.seek(tp, start)
            log.info(
                "partition assigned",
                extra={"partition": tp.partition, "replay_from": start, "deliver_from": committed},
            )
        log.info("dispatcher ready", extra={"partitions": len(assigned)})
        self.ready.set()

    async def partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._commit()
        self._tracker.forget(revoked)
        self.state.forget(revoked)  # their next owner re-sends what fires there
        for tp in revoked:
            self._deliver_from.pop(tp, None)

    # --- records ------------------------------------------------------------------------

    async def _on_record(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> None:
        deliver_from = self._deliver_from.get(tp)
        if deliver_from is None:
            return
        try:
            alert = orjson.loads(record.value) if record.value is not None else None
            if not isinstance(alert, dict):
                raise InvalidAlertError("a record of shoppulse.alerts must be a JSON object")
            if record.offset < deliver_from:
                self.state.observe(alert, tp)  # history: learn what is firing, deliver nothing
                return
            self._tracker.add(tp, record.offset)
            decision = self.state.decide(alert, self.book, self._clock_ms(), tp)
        except (orjson.JSONDecodeError, InvalidAlertError) as exc:
            if record.offset >= deliver_from:
                self.metrics.invalid.inc()
                await self._record_undeliverable(tp, record.offset, None, "invalid", str(exc))
                self._tracker.done(tp, record.offset)
            return
        if decision.suppressed is not None:
            self.metrics.suppressed.labels(decision.suppressed).inc()
            log.info(
                "notification suppressed",
                extra={"reason": decision.suppressed, "fingerprint": alert.get("fingerprint")},
            )
            self._tracker.done(tp, record.offset)
            return
        item = _Record(tp, record.offset, alert, len(decision.receivers), self._finished)
        for name in decision.receivers:
            self._queues[name].put_nowait(item)
            self.metrics.queued.labels(name).inc()

    def _finished(self, item: _Record) -> None:
        self._tracker.done(item.tp, item.offset)
        in_flight = self._tracker.in_flight()
        if in_flight < self.settings.dispatcher_max_in_flight:
            self._room.set()
        if in_flight == 0:
            self._idle.set()

    async def _deliver_loop(self, receiver: ReceiverConfig) -> None:
        queue, notifier = self._queues[receiver.name], self._notifiers[receiver.name]
        while True:
            item = await queue.get()
            started = time.monotonic()
            payload = dict(item.alert, notificationId=item.notification_id)
            result = await _deliver(notifier, payload, receiver)
            self.metrics.attempts.labels(receiver.name).inc(result.attempts)
            self.metrics.delivery_seconds.labels(receiver.name).observe(time.monotonic() - started)
            if result.ok:
                self.metrics.notifications.labels(receiver.name, "delivered").inc()
                log.info(
                    "notification delivered",
                    extra={
                        "receiver": receiver.name,
                        "notification_id": item.notification_id,
                        "status": item.alert.get("status"),
                        "attempts": result.attempts,
                    },
                )
            else:
                self.metrics.notifications.labels(receiver.name, "failed").inc()
                reason = result.error.reason if result.error else "unknown"
                await self._record_undeliverable(
                    item.tp, item.offset, receiver.name, reason, None, item.alert, result.attempts
                )
            self.metrics.queued.labels(receiver.name).dec()
            item.one_done()

    async def _record_undeliverable(
        self,
        tp: TopicPartition,
        offset: int,
        receiver: str | None,
        reason: str,
        detail: str | None,
        alert: Mapping[str, Any] | None = None,
        attempts: int = 0,
    ) -> None:
        """Keep what could not be delivered on ``shoppulse.undeliverable`` (retried until
        Kafka takes it or the dispatcher stops)."""
        assert self._producer is not None
        value = {
            "receiver": receiver,
            "reason": reason,
            "detail": detail,
            "attempts": attempts,
            "alert": alert,
            "source": {"topic": tp.topic, "partition": tp.partition, "offset": offset},
            "at": format_ts_ms(self._clock_ms()),
        }
        log.error("notification undeliverable", extra={k: v for k, v in value.items() if v})
        delay = 0.5
        while True:
            try:
                await self._producer.send_and_wait(
                    self.settings.topic(topics.UNDELIVERABLE),
                    orjson.dumps(value),
                    key=str((alert or {}).get("fingerprint", "")).encode(),
                )
                return
            except Exception as exc:  # Kafka unavailable: keep trying, the offset waits
                log.warning("cannot record undeliverable yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    # --- commits and Alertmanager re-sends ----------------------------------------------

    async def _commit(self) -> None:
        consumer = self._consumer
        offsets = self._tracker.committable()
        if consumer is None or not offsets:
            return
        try:
            await consumer.commit({tp: offset for tp, offset in offsets.items()})
        except Exception as exc:  # a rebalance in progress: the next round commits
            log.warning("commit failed: %s", exc)
            return
        self._tracker.mark_committed(offsets)

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(_COMMIT_INTERVAL_S)
            await self._commit()

    async def _resend_loop(self, receiver: ReceiverConfig) -> None:
        notifier = self._notifiers[receiver.name]
        assert isinstance(notifier, AlertmanagerNotifier)
        while True:
            await asyncio.sleep(self.config.alertmanager_resend_s)
            alerts = self.state.resend(receiver.name, self.book, self._clock_ms())
            if not alerts:
                continue
            try:
                await notifier.send_many(alerts)
            except Exception as exc:  # DeliveryError, or a bug: the next round tries again
                self.metrics.alertmanager_resends.labels(receiver.name, "failed").inc()
                reason = exc.reason if isinstance(exc, DeliveryError) else repr(exc)
                log.warning("alertmanager re-send failed: %s", reason)
            else:
                self.metrics.alertmanager_resends.labels(receiver.name, "sent").inc()


async def _deliver(
    notifier: Notifier, payload: Mapping[str, Any], receiver: ReceiverConfig
) -> DeliveryResult:
    """Deliver with the receiver's retries. A notifier that raises anything but
    :class:`DeliveryError` has a bug: the notification is recorded as undeliverable instead
    of the receiver's delivery task dying (which would stop every later delivery and the
    commits behind them)."""
    try:
        return await deliver_with_retries(notifier, payload, receiver.backoff)
    except Exception as exc:
        log.exception("notifier error", extra={"receiver": receiver.name})
        return DeliveryResult(
            ok=False, attempts=1, error=DeliveryError(False, f"notifier error: {exc!r}")
        )
