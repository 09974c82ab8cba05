"""Every private name of Faust, aiokafka and mode that the worker uses, behind one door (ADR 21).

The worker replaces Faust's fetch loop (ADR 14), bounds its commits (ADR 12), seeks in the
consumer thread (ADR 12, addendum) and writes RocksDB table entries to a partition of its
choosing (ADR 15). None of that has a public API in Faust, so the worker leans on framework
internals. This module is the only place in ``streams/`` that names them
(``tests/streams/test_no_private_framework_names.py`` enforces it): each override hook and
each accessor below says which internal it stands for and why we need it, and
:data:`INTERNALS` lists them all with the signature we rely on, which
``tests/streams/test_faust_internals.py`` checks against the installed versions.

The rest of ``streams/`` subclasses :class:`HookedConsumer` and overrides its public hooks
(:meth:`~HookedConsumer.commit_to_broker`, :meth:`~HookedConsumer.drain_fetches`,
:meth:`~HookedConsumer.seek_partition`) instead of Faust's private methods, and calls the
functions here instead of reading private attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from aiokafka import AIOKafkaConsumer
from faust.stores.rocksdb import Store as RocksStore
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service

WRITTEN_AGAINST: Final[Mapping[str, str]] = {
    "faust-streaming": "0.15.3",
    "aiokafka": "0.14.0",
    "mode-streaming": "0.7.1",
}
"""The installed versions this module (and :data:`INTERNALS`) was written and checked
against. ``pyproject.toml`` pins ``faust-streaming>=0.15.3,<0.16``; aiokafka and
mode-streaming come with it."""


@dataclass(frozen=True, slots=True)
class Internal:
    """One framework internal the worker relies on, as the contract tests check it."""

    owner: str
    """Where it is defined: ``module:Class``."""
    name: str
    kind: Literal["override", "method", "attribute"]
    """``override``: a private method we override (and call with ``super()``); ``method``: a
    private method we call; ``attribute``: an (instance) attribute we read or set."""
    used_by: str
    """The hook or accessor of this module that stands for it."""
    params: tuple[str, ...] | None = None
    """A method's parameter names (``self`` included), as we call or override it."""
    coroutine: bool = False
    """A method that we await."""


_CONSUMER: Final = "faust.transport.consumer:Consumer"
_THREAD_CONSUMER: Final = "faust.transport.consumer:ThreadDelegateConsumer"
_DRIVER_CONSUMER: Final = "faust.transport.drivers.aiokafka:Consumer"
_CONSUMER_THREAD: Final = "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread"
_ROCKS_STORE: Final = "faust.stores.rocksdb:Store"

INTERNALS: Final[tuple[Internal, ...]] = (
    Internal(
        _THREAD_CONSUMER,
        "_commit",
        "override",
        "HookedConsumer._commit",
        ("self", "offsets"),
        coroutine=True,
    ),
    Internal(
        _CONSUMER,
        "_drain_messages",
        "override",
        "HookedConsumer._drain_messages",
        ("self", "fetcher"),
        coroutine=True,
    ),
    Internal(
        _THREAD_CONSUMER,
        "_seek",
        "override",
        "HookedConsumer._seek",
        ("self", "partition", "offset"),
        coroutine=True,
    ),
    Internal("mode.services:Service", "_stopped", "attribute", "stopped_event"),
    Internal(
        _CONSUMER,
        "_wait_next_records",
        "method",
        "next_records",
        ("self", "timeout"),
        coroutine=True,
    ),
    Internal(_CONSUMER, "_buffered_partitions", "attribute", "buffered_partitions"),
    Internal(_CONSUMER, "_read_offset", "attribute", "read_offset, set_read_offset"),
    Internal(
        _CONSUMER,
        "_add_gap",
        "method",
        "add_gap",
        ("self", "tp", "offset_from", "offset_to"),
        coroutine=True,
    ),
    Internal(_CONSUMER, "_commit_every", "attribute", "commit_every"),
    Internal(_CONSUMER, "_n_acked", "attribute", "acked_count, reset_acked_count"),
    Internal(_DRIVER_CONSUMER, "_to_message", "method", "to_message", ("self", "tp", "record")),
    Internal(_THREAD_CONSUMER, "_thread", "attribute", "consumer_thread, aiokafka_consumer"),
    Internal(_CONSUMER_THREAD, "_ensure_consumer", "method", "aiokafka_consumer", ("self",)),
    Internal(_ROCKS_STORE, "_key_index", "attribute", "index_key"),
    Internal(_ROCKS_STORE, "_db_for_partition", "method", "partition_db", ("self", "partition")),
)
"""Every private name of Faust/aiokafka/mode used in this module (a test keeps the list
complete)."""


class HookedConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer whose private hooks call public methods of ours.

    A subclass overrides :meth:`commit_to_broker`, :meth:`drain_fetches` or
    :meth:`seek_partition`; by default each does what Faust does (``faust_*``).
    """

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        """``ThreadDelegateConsumer._commit``: where every commit of Faust's ends (its commit
        interval, ``commit()``, a rebalance); overridden so that ours can be bounded (ADR 12)."""
        return await self.commit_to_broker(offsets)

    async def _drain_messages(self, fetcher: Any) -> None:
        """``Consumer._drain_messages``: Faust's fetch loop, the fetcher service's one task;
        overridden so that ours can hand over a fetch at a time (ADR 14)."""
        await self.drain_fetches(fetcher)

    async def _seek(self, partition: TP, offset: int) -> None:
        """``ThreadDelegateConsumer._seek``: what ``Consumer.seek`` calls (before it resets the
        read offset); overridden so that ours can seek in the consumer thread (ADR 12)."""
        await self.seek_partition(partition, offset)

    async def commit_to_broker(self, offsets: Mapping[TP, int]) -> bool:
        """Commit ``offsets`` (every commit of Faust's comes here). Default: Faust's commit."""
        return await self.faust_commit(offsets)

    async def faust_commit(self, offsets: Mapping[TP, int]) -> bool:
        """Faust's own commit of ``offsets`` (``super()._commit``), in the consumer thread."""
        return bool(await super()._commit(offsets))

    async def drain_fetches(self, fetcher: Any) -> None:
        """Fetch and deliver records until the consumer or ``fetcher`` stops. Default: Faust's
        loop."""
        await self.faust_drain_messages(fetcher)

    async def faust_drain_messages(self, fetcher: Any) -> None:
        """Faust's own fetch loop (``super()._drain_messages``): record by record."""
        await super()._drain_messages(fetcher)

    async def seek_partition(self, partition: TP, offset: int) -> None:
        """Move ``partition``'s fetch position to ``offset``. Default: Faust's seek."""
        await self.faust_seek(partition, offset)

    async def faust_seek(self, partition: TP, offset: int) -> None:
        """Faust's own seek (``super()._seek``): aiokafka's, called from this thread."""
        await super()._seek(partition, offset)


HOOKS: Final[tuple[str, ...]] = (
    "commit_to_broker",
    "faust_commit",
    "drain_fetches",
    "faust_drain_messages",
    "seek_partition",
    "faust_seek",
)
"""The public names :class:`HookedConsumer` adds to Faust's consumer (which must not have
them)."""


def stopped_event(service: Service) -> Any:
    """mode's ``Service._stopped``: the event set once a service is stopping. Faust's fetch loop
    runs until the consumer's or the fetcher's is set, and so does ours."""
    return service._stopped


async def next_records(
    consumer: faust_aiokafka.Consumer, wait_s: float
) -> tuple[Mapping[TP, list[Any]] | None, set[TP] | None]:
    """``Consumer._wait_next_records``: one fetch of up to ``wait_s`` seconds (aiokafka's
    records per partition) and the partitions that were active (not paused) for it, as Faust's
    fetch loop gets them (waiting while the flow is stopped, fetching only active partitions)."""
    return await consumer._wait_next_records(wait_s)


def buffered_partitions(consumer: faust_aiokafka.Consumer) -> set[TP]:
    """``Consumer._buffered_partitions``: paused partitions whose fetched records Faust still
    delivers (its ``getmany`` skips records of other paused partitions, and so do we)."""
    return consumer._buffered_partitions


def read_offset(consumer: faust_aiokafka.Consumer, tp: TP) -> int | None:
    """``Consumer._read_offset[tp]``: the offset of the last record delivered to Faust's streams
    (None: none yet, or a seek to 0). Records below it are dropped as already read."""
    return consumer._read_offset[tp]


def set_read_offset(consumer: faust_aiokafka.Consumer, tp: TP, offset: int) -> None:
    """Record ``offset`` as delivered (``Consumer._read_offset``), as Faust's loop does."""
    consumer._read_offset[tp] = offset


async def add_gap(
    consumer: faust_aiokafka.Consumer, tp: TP, offset_from: int, offset_to: int
) -> None:
    """``Consumer._add_gap``: mark offsets that no record will acknowledge (compacted away,
    transaction markers), so that Faust's acknowledged offset, hence its commit, can pass
    them."""
    await consumer._add_gap(tp, offset_from, offset_to)


def commit_every(consumer: faust_aiokafka.Consumer) -> int | None:
    """``Consumer._commit_every``: ``broker_commit_every``, the acknowledgements after which
    Faust's loop commits (None: only on the interval)."""
    return consumer._commit_every


def acked_count(consumer: faust_aiokafka.Consumer) -> int:
    """``Consumer._n_acked``: acknowledgements since the last commit by count."""
    return consumer._n_acked


def reset_acked_count(consumer: faust_aiokafka.Consumer) -> None:
    """Start counting acknowledgements again (``Consumer._n_acked = 0``), before a commit by
    count, as Faust's loop does."""
    consumer._n_acked = 0


def to_message(consumer: faust_aiokafka.Consumer, tp: TP, record: Any) -> Any:
    """``Consumer._to_message``: aiokafka's record as the ``ConsumerMessage`` that Faust's
    ``callback`` hands to its streams."""
    return consumer._to_message(tp, record)


def consumer_thread(consumer: faust_aiokafka.Consumer) -> Any:
    """``ThreadDelegateConsumer._thread``: Faust's consumer thread (``AIOKafkaConsumerThread``,
    a mode ``ServiceThread``), where aiokafka runs; ``call_thread`` runs a call in it."""
    return cast(Any, consumer._thread)


def aiokafka_consumer(consumer: faust_aiokafka.Consumer) -> AIOKafkaConsumer:
    """``AIOKafkaConsumerThread._ensure_consumer()``: the aiokafka consumer of Faust's consumer
    thread (``ConsumerNotStarted`` before it starts). Its calls belong in that thread."""
    client: AIOKafkaConsumer = consumer_thread(consumer)._ensure_consumer()
    return client


def index_key(store: RocksStore, key: bytes, partition: int) -> None:
    """``Store._key_index[key] = partition``: the RocksDB store's key → partition cache, which
    its reads consult first; set as its ``_set`` sets it for a write."""
    store._key_index[key] = partition


def partition_db(store: RocksStore, partition: int) -> Any:
    """``Store._db_for_partition``: the RocksDB database of ``partition`` (opened on first use).
    Faust's ``_set`` takes the partition from the current event, which batches and timers do
    not have (ADR 15), so the worker writes to the database itself."""
    return store._db_for_partition(partition)


def install_consumer_class(app: Any, consumer_class: type[HookedConsumer]) -> None:
    """Make ``app`` create its consumer from ``consumer_class`` (``Transport.Consumer``, a public
    but undocumented class attribute of Faust's transport); before ``app.consumer`` is first
    used."""
    app.transport.Consumer = consumer_class
