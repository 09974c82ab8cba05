"""JSON bytes that are kept: orjson's output, copied to its exact size.

``orjson.dumps`` (3.13) returns a bytes object that keeps the whole buffer orjson grew while
writing: at least 4 KiB, and for a 15 KB document about 0.5 MB. That is harmless for a
message sent and dropped, but the worker keeps such values for a long time — every store-
memory entry (one per SKU, customer, session) in its table and in its minute's journal,
every open-minute segment — and 100 stores x 10,000 SKUs then took 5 GiB of RSS for 131 MB
of state. Values that are kept are made with :func:`dumps`, which copies them to their size.

>>> import tracemalloc
>>> tracemalloc.start()
>>> kept = [dumps({"sku": i}) for i in range(1000)]
>>> tracemalloc.get_traced_memory()[0] < 1000 * 200
True
>>> tracemalloc.stop()
>>> dumps({"a": [1, 2]})
b'{"a":[1,2]}'
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps(obj: Any) -> bytes:
    """``orjson.dumps(obj)`` in a bytes object of exactly its length."""
    return bytes(memoryview(orjson.dumps(obj)))
