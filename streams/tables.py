"""Writing Faust table entries with an explicit changelog partition."""

from __future__ import annotations

from typing import Any


def put(table: Any, partition: int, key: str, value: bytes | None) -> None:
    """Set (or, with ``None``, delete) ``key`` and send the change to ``partition`` of the
    table's changelog.

    ``Table.__setitem__`` takes the partition from the "current event", which does not
    exist inside ``take_events()`` batches or timers (faust #497), and on every first write
    checks the changelog's partition count against the source topic's, which fails with
    ``PartitionsMismatch`` ("0 partitions") while a freshly created changelog's metadata is
    still empty. Our tables are keyed by store like their source topics, so the source
    record's partition is the right one.
    """
    store = table.data
    if value is None:
        store.pop(key, None)
        table.send_changelog(partition, key, None, value_serializer="raw")
        return
    if hasattr(store, "_db_for_partition"):
        # faust.stores.rocksdb.Store: its ``_set`` takes the partition from the current event
        # too, so write to the partition's database the way ``_set`` does.
        raw_key = store._encode_key(key)
        store._key_index[raw_key] = partition
        store._db_for_partition(partition).put(raw_key, store._encode_value(value))
    else:
        store[key] = value
    table.send_changelog(partition, key, value)
