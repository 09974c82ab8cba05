"""Acknowledgements and silences kept on Kafka: ``shoppulse.alert-actions`` <-> an ActionBook.

:class:`ActionLog` follows every partition of the compacted ``shoppulse.alert-actions``
topic from the beginning (no consumer group; every API process and the dispatcher hold
the whole state) into an :class:`~alerts.actions.ActionBook`, and publishes new actions
to it. A restart reads the topic again and rebuilds the same book. It creates the topic
(compacted, :mod:`kafka_io.admin`) if it does not exist yet, so a fresh cluster
works.

* :meth:`ActionLog.start` returns at once; a background task connects and reads, retrying
  connection failures with backoff (:class:`~alerts.topic_follower.TopicFollower`).
* :attr:`ActionLog.ready` turns true once it has read up to the end offsets it saw when it
  first connected; :meth:`ActionLog.wait_ready` waits for that, bounded.
* :meth:`ActionLog.publish` produces the record (key ``action.key``, ``acks=all``,
  idempotent producer), waits for the broker to take it, then applies it to the book at
  once (read your writes); reading it back later changes nothing. When Kafka does not
  take it within ``publish_timeout_s`` it raises :class:`ActionLogUnavailableError`.
* A record that does not decode is logged, counted and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from kafka.errors import KafkaError as KafkaAdminError

from alerts.actions import Ack, ActionBook, ActionError, Silence, parse_action
from alerts.topic_follower import (
    FeedStats,
    FollowedTopic,
    TopicFollower,
    json_value,
    log_bad_record,
)
from kafka_io.admin import ensure_topics
from kafka_io.config import aiokafka_config
from shoppulse.settings import KafkaSettings
from shoppulse.topics import ALERT_ACTIONS

log = logging.getLogger("shoppulse.actions")

DEFAULT_PUBLISH_TIMEOUT_S: Final = 10.0


class ActionLogUnavailableError(RuntimeError):
    """Kafka did not confirm an acknowledgement or silence; try again.

    After a connection failure nothing was recorded; after a timeout the record may still
    arrive later (followers then apply it; a retried acknowledgement is still answered
    with the first).
    """


def decode_action(raw: bytes | None) -> Silence | Ack:
    """Decode one ``shoppulse.alert-actions`` record value, or raise :class:`ActionError`.

    >>> decode_action(b'{"type": "ack"}')
    Traceback (most recent call last):
    ...
    alerts.actions.ActionError: fingerprint must be a string
    >>> decode_action(b"{oops")
    Traceback (most recent call last):
    ...
    alerts.actions.ActionError: not JSON: JSONDecodeError
    """
    return parse_action(json_value(raw, ActionError))


class ActionLog(FollowedTopic):
    """The acknowledgements and silences of ``shoppulse.alert-actions``; see the module doc."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        client_id: str = "shoppulse-actions",
        publish_timeout_s: float = DEFAULT_PUBLISH_TIMEOUT_S,
        retry_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.topic = settings.topic(ALERT_ACTIONS)
        self.client_id = client_id
        self.publish_timeout_s = publish_timeout_s
        self.book = ActionBook()
        self.stats = FeedStats()
        self._follower = TopicFollower(
            settings,
            self.topic,
            self.handle,
            name="action log",
            client_id=client_id,
            stats=self.stats,
            create_topic=self._ensure_topic,
            retry_s=retry_s,
            logger=log,
        )
        self._topic_ensured = False
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start following the topic from its beginning (returns at once)."""
        self._follower.start()

    @property
    def ready(self) -> bool:
        """Caught up with the end offsets seen when it first connected (sticky)."""
        return self.caught_up

    async def stop(self) -> None:
        """Stop following and close the producer."""
        await super().stop()
        async with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    # -- reading ----------------------------------------------------------------------------

    def handle(self, raw: bytes | None, where: str = "") -> Silence | Ack | None:
        """Decode one record value and apply it to the book (None if it does not decode)."""
        self.stats.records += 1
        try:
            action = decode_action(raw)
        except ActionError as exc:
            log_bad_record(log, self.stats, "alert action", where, str(exc))
            return None
        self.book.add(action)
        self.stats.applied += 1
        return action

    # -- writing ----------------------------------------------------------------------------

    async def publish(self, action: Silence | Ack) -> None:
        """Record ``action`` on Kafka, then apply it to the book.

        Raises :class:`ActionLogUnavailableError` when Kafka does not take it within
        ``publish_timeout_s``.
        """
        value = orjson.dumps(action.to_record())
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                producer = await self._get_producer()
                await producer.send_and_wait(self.topic, value, key=action.key.encode())
        except (TimeoutError, KafkaError, KafkaAdminError, OSError) as exc:
            log.warning(
                "could not publish an alert action",
                extra={"topic": self.topic, "key": action.key, "error": repr(exc)},
            )
            why = str(exc) or f"no answer within {self.publish_timeout_s:g} s"
            raise ActionLogUnavailableError(
                f"Kafka is unavailable: could not record the {type(action).__name__.lower()} "
                f"({type(exc).__name__}: {why}); try again"
            ) from exc
        self.book.add(action)
        log.info("published an alert action", extra={"topic": self.topic, "key": action.key})

    async def _get_producer(self) -> AIOKafkaProducer:
        async with self._producer_lock:
            if self._producer is not None:
                return self._producer
            producer = AIOKafkaProducer(
                **aiokafka_config(self.settings),
                client_id=f"{self.client_id}-producer",
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=max(1000, int(self.publish_timeout_s * 1000)),
            )
            try:
                await producer.start()  # fails fast when no broker answers
                await self._ensure_topic()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
            return producer

    async def _ensure_topic(self) -> None:
        """Create the compacted topic unless this log has made sure it exists (called once
        Kafka answered: the admin client takes 30 s to give up on an unreachable one)."""
        if not self._topic_ensured:
            await asyncio.to_thread(ensure_topics, self.settings, (ALERT_ACTIONS,))
            self._topic_ensured = True
