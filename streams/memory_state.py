"""A :class:`~streams.processor.StateSink` in memory: the processor as a pure unit.

The unit tests, the hot-path benchmark (:mod:`cli.bench_hot_path`) and the API memory
benchmark run a :class:`~streams.processor.MinuteProcessor` on it without a broker.

>>> state = MemoryState()
>>> state.put_clock(0, "s1", b"{}"); state.barrier(); state.put_minute(0, "s1|0", None)
>>> state.writes
[('clock', 0, 's1'), ('barrier', -1, ''), ('minute', 0, 's1|0')]
>>> list(state.clocks()), state.handed_over, state.delivered()()
([b'{}'], True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class MemoryState:
    """Tables in dicts, every put taking effect and "acknowledged" at once; ``writes``
    records each put, barrier and flush in order, for tests to check the order of."""

    def __init__(self) -> None:
        self.minutes_by_key: dict[str, bytes] = {}
        self.clocks_by_key: dict[str, bytes] = {}
        self.memory_by_key: dict[str, bytes] = {}
        self.writes: list[tuple[str, int, str]] = []

    def put_minute(self, partition: int, key: str, value: bytes | None) -> None:
        self.writes.append(("minute", partition, key))
        if value is None:
            self.minutes_by_key.pop(key, None)
        else:
            self.minutes_by_key[key] = value

    def put_clock(self, partition: int, key: str, value: bytes) -> None:
        self.writes.append(("clock", partition, key))
        self.clocks_by_key[key] = value

    def barrier(self) -> None:
        self.writes.append(("barrier", -1, ""))

    @property
    def handed_over(self) -> bool:
        """Puts take effect at once here: nothing is queued."""
        return True

    def delivered(self) -> Callable[[], bool]:
        return lambda: True

    async def send(self) -> None:
        """Puts take effect at once here: nothing is queued."""

    async def flush(self) -> None:
        self.writes.append(("flush", -1, ""))

    def put_memory(self, partition: int, key: str, value: bytes | None) -> None:
        self.writes.append(("memory", partition, key))
        if value is None:
            self.memory_by_key.pop(key, None)
        else:
            self.memory_by_key[key] = value

    def memory_records(self) -> Iterable[bytes]:
        return list(self.memory_by_key.values())

    def minutes(self) -> Iterable[bytes]:
        return list(self.minutes_by_key.values())

    def clocks(self) -> Iterable[bytes]:
        return list(self.clocks_by_key.values())
