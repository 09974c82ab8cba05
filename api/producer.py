"""The API's Kafka producer for HTTP ingest (aiokafka, started on first use)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from api.ingest import IngestRecord
from kafka_io.config import aiokafka_config
from shoppulse.settings import ApiSettings


class ProducerUnavailableError(RuntimeError):
    """Kafka did not take the events in time; nothing may be assumed produced."""


class EventProducer(Protocol):
    async def send_all(self, records: Sequence[IngestRecord]) -> None: ...

    async def stop(self) -> None: ...


class KafkaEventProducer:
    """Produces validated events to their (namespaced) topics, keyed by store id."""

    def __init__(self, settings: ApiSettings, *, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **aiokafka_config(self.settings),
                    acks="all",
                    enable_idempotence=True,
                    client_id="shoppulse-api-ingest",
                    request_timeout_ms=int(self.timeout_s * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), self.timeout_s)
                except (KafkaError, OSError, TimeoutError) as exc:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise ProducerUnavailableError(f"Kafka is not reachable: {exc!r}") from exc
                self._producer = producer
            return self._producer

    async def send_all(self, records: Sequence[IngestRecord]) -> None:
        producer = await self._get()
        try:
            futures = [
                await producer.send(self.settings.topic(r.topic), r.value, key=r.key)
                for r in records
            ]
            await asyncio.wait_for(asyncio.gather(*futures), self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise ProducerUnavailableError(
                f"Kafka did not acknowledge the events ({exc!r}); some may have been produced,"
                " so retry with the same event_id values (duplicates are counted once)"
            ) from exc

    async def stop(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
