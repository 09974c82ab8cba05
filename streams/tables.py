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
    if value is None:
        table.data.pop(key, None)
        table.send_changelog(partition, key, None, value_serializer="raw")
    else:
        table.data[key] = value
        table.send_changelog(partition, key, value)
