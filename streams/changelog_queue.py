"""Changelog records in put order, handed to the producer without waiting under the lock.

The worker's durable state lives in three changelogs with no order between them, so ADR 11
orders its writes by acknowledgement: the memory and clock records of a persist are
acknowledged by the broker before its minute records (and a closed minute's tombstones) are
sent. The worker used to wait for that acknowledgement inside the batch, under the lock that
also guards the next batch and the beat's provisional snapshots (ADR 23).

:class:`ChangelogQueue` keeps the same order on the broker without the wait: a *barrier*
put between two groups of records holds the later ones in the queue until every record sent
before it is acknowledged, and :meth:`ChangelogQueue.send` hands over what it may and returns
at once. It also hands over at most ``chunk`` records per call, so the tens of thousands of
records a minute's close writes reach the producer a chunk per batch, between batches, instead
of in one long stretch of the event loop.

>>> import asyncio
>>> class Producer:
...     def __init__(self):
...         self.sent, self.futures = [], []
...     async def send(self, topic, key, value, partition, timestamp, headers):
...         future = asyncio.get_running_loop().create_future()
...         self.sent.append(key)
...         self.futures.append(future)
...         return future
>>> async def demo():
...     producer = Producer()
...     queue = ChangelogQueue(producer, chunk=2)
...     for key in (b"m1", b"m2", b"m3"):
...         queue.put("memory", 0, key, b"v")
...     queue.barrier()
...     queue.put("minutes", 0, b"s1", None)
...     await queue.send()  # one chunk
...     first = list(producer.sent)
...     await queue.send()  # the rest before the barrier; the barrier holds s1
...     second = list(producer.sent)
...     for future in producer.futures:
...         future.set_result(None)  # the broker acknowledges
...     await queue.send()
...     return first, second, producer.sent, queue.handed_over
>>> asyncio.run(demo())
([b'm1', b'm2'], [b'm1', b'm2', b'm3'], [b'm1', b'm2', b'm3', b's1'], True)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger("shoppulse.worker")

#: Records handed to the producer per :meth:`ChangelogQueue.send` at most (about 20 ms of
#: the event loop on the bench machine; a minute's close writes tens of thousands).
SEND_CHUNK: Final = 1_000

Record = tuple[str, int, bytes, bytes | None]
"""(changelog topic, partition, key bytes, value bytes or ``None`` for a tombstone)."""
SentCallback = Callable[[str, int, "asyncio.Future[Any]"], None]
"""Told of the last record a :meth:`ChangelogQueue.send` handed over per topic-partition."""


class _Barrier:
    """Records after it wait until every record before it is acknowledged."""

    __slots__ = ()


_BARRIER: Final = _Barrier()


class ChangelogQueue:
    """Changelog records and barriers in put order (see the module docstring).

    ``producer`` has Faust's ``send(topic, key, value, partition, timestamp, headers)``,
    which queues a record and returns its delivery future.
    """

    def __init__(
        self, producer: Any, *, chunk: int = SEND_CHUNK, on_sent: SentCallback | None = None
    ) -> None:
        self._producer = producer
        self._chunk = chunk
        self._on_sent = on_sent
        self._queue: deque[Record | _Barrier] = deque()
        self._delivering: dict[tuple[str, int], asyncio.Future[Any]] = {}
        """Per changelog partition, the delivery of the last record handed over. A partition's
        records are delivered in order (aiokafka has one request in flight per broker and
        retries a batch before later ones), so when it is done, so are all before it."""

    def put(self, topic: str, partition: int, key: bytes, value: bytes | None) -> None:
        self._queue.append((topic, partition, key, value))

    def barrier(self) -> None:
        """Records put from now on are handed over only once every record put so far is
        acknowledged by the broker."""
        queue = self._queue
        needed = queue[-1] is not _BARRIER if queue else bool(self._delivering)
        if needed:
            queue.append(_BARRIER)

    @property
    def handed_over(self) -> bool:
        """Every record put so far is with the producer (not necessarily acknowledged)."""
        return not self._queue

    def acknowledged(self) -> bool:
        """Every record handed over so far has been delivered (or has failed for good)."""
        for (topic, partition), delivery in list(self._delivering.items()):
            if not delivery.done():
                return False
            if not delivery.cancelled() and delivery.exception() is not None:
                # As the producer's flush does, a failed delivery does not stop the worker;
                # unlike it, it is logged.
                log.error(
                    "changelog write failed",
                    extra={"topic": topic, "partition": partition, "error": delivery.exception()},
                )
            del self._delivering[(topic, partition)]
        return True

    def delivered(self) -> Callable[[], bool]:
        """A check of whether every record handed over until now has been delivered."""
        pending = [delivery for delivery in self._delivering.values() if not delivery.done()]
        return lambda: all(delivery.done() for delivery in pending)

    async def send(self, *, limit: int | None = None) -> None:
        """Hand over queued records in order, up to ``limit`` (default: the chunk) and up to
        the first barrier whose records before it are not all acknowledged. Never waits
        for the broker."""
        budget = self._chunk if limit is None else limit
        queue = self._queue
        send = self._producer.send
        last: dict[tuple[str, int], asyncio.Future[Any]] = {}
        while queue and budget > 0:
            head = queue[0]
            if isinstance(head, _Barrier):
                if not self.acknowledged():
                    break
                queue.popleft()
                continue
            queue.popleft()
            topic, partition, key, value = head
            delivery = await send(topic, key, value, partition, None, None)
            last[(topic, partition)] = self._delivering[(topic, partition)] = delivery
            budget -= 1
        if self._on_sent is not None:
            for (topic, partition), delivery in last.items():
                self._on_sent(topic, partition, delivery)

    async def flush(self) -> None:
        """Hand over every queued record, waiting at each barrier for the acknowledgement it
        needs, then wait until everything is acknowledged."""
        while self._queue:
            await self.send(limit=len(self._queue))
            if self._queue:  # held by a barrier: wait for what is with the producer
                await self._producer.flush()
        await self._producer.flush()
        self.acknowledged()
