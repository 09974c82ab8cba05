"""Writing Faust table entries with an explicit changelog partition, and keeping them
decoded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from faust.stores.rocksdb import Store as RocksStore

from streams import faust_internals as internals

T = TypeVar("T")


def changelog_key(table: Any, key: str) -> bytes:
    """``key`` as the table's own key serializer writes it (JSON for ``str`` keys): Faust's
    recovery decodes it so, and compaction needs the same bytes for the same key."""
    raw_key, _ = table.changelog_topic.prepare_key(key, table.key_serializer)
    return cast(bytes, raw_key)


def write_local(
    table: Any, partition: int, key: str, value: bytes | None, raw_key: bytes | None = None
) -> None:
    """Set (or, with ``None``, delete) ``key`` in the table's local store, for ``partition``.

    Faust's RocksDB store takes the partition of a write from the "current event", which
    batches and timers do not have: its entry is written to the partition's database as its
    ``_set`` would (``raw_key``: the key's changelog bytes, if the caller has them), through
    :mod:`streams.faust_internals`.
    """
    store = table.data
    if value is None:
        store.pop(key, None)
    elif isinstance(store, RocksStore):
        encoded = raw_key if raw_key is not None else changelog_key(table, key)
        internals.index_key(store, encoded, partition)
        internals.partition_db(store, partition).put(encoded, value)
    else:
        store[key] = value


def put(table: Any, partition: int, key: str, value: bytes | None) -> None:
    """Set (or, with ``None``, delete) ``key`` and send the change to ``partition`` of the
    table's changelog.

    ``Table.__setitem__`` takes the partition from the "current event", which does not
    exist inside batches or timers (faust #497), and on every first write
    checks the changelog's partition count against the source topic's, which fails with
    ``PartitionsMismatch`` ("0 partitions") while a freshly created changelog's metadata is
    still empty. Our tables are keyed by store like their source topics, so the source
    record's partition is the right one.
    """
    write_local(table, partition, key, value)
    if value is None:
        table.send_changelog(partition, key, None, value_serializer="raw")
    else:
        table.send_changelog(partition, key, value)


class DecodedValues(Generic[T]):
    """A table's values kept decoded, for agents that read, change and write back one value
    per record.

    A decoded value is reused only while the table still holds the very bytes object it was
    decoded from, so a recovery (or any other writer) that replaces the bytes makes the next
    :meth:`take` decode again. :meth:`take` hands the value over and forgets it: a value
    changed but never written back (an exception in between) is never reused.

    >>> class Table(dict):
    ...     data = property(lambda self: self)
    ...     def send_changelog(self, *args, **kwargs): ...
    >>> table, decodes = Table(), []
    >>> values = DecodedValues(table, lambda raw: decodes.append(raw) or raw.decode())
    >>> values.take("k") is None
    True
    >>> values.put(0, "k", "v1", b"v1")
    >>> values.take("k"), decodes  # kept decoded: no decode
    ('v1', [])
    >>> table["k"] = b"v2"  # replaced under us, as by a recovery
    >>> values.take("k"), decodes
    ('v2', [b'v2'])
    """

    def __init__(self, table: Any, decode: Callable[[bytes], T]) -> None:
        self._table = table
        self._decode = decode
        self._decoded: dict[str, tuple[bytes, T]] = {}

    def take(self, key: str) -> T | None:
        """The decoded value of ``key`` (None if the table has none)."""
        raw = self._table.get(key)
        kept = self._decoded.pop(key, None)
        if raw is None:
            return None
        if kept is not None and kept[0] is raw:
            return kept[1]
        return self._decode(raw)

    def put(self, partition: int, key: str, value: T, raw: bytes) -> None:
        """Write ``raw`` (the encoded ``value``) as :func:`put` does, and keep ``value``."""
        put(self._table, partition, key, raw)
        self._decoded[key] = (raw, value)
