"""In-memory stand-ins for the API's Kafka edges, for tests of pure route logic only
(each feature also has an integration test through the real broker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from api.ingest import IngestRecord
from api.producer import ProducerUnavailableError


@dataclass
class FakeEventProducer:
    """Keeps what it is given; ``fail`` behaves like an unreachable Kafka."""

    fail: bool = False
    sent: list[IngestRecord] = field(default_factory=list)

    async def send_all(self, records: Sequence[IngestRecord]) -> None:
        if self.fail:
            raise ProducerUnavailableError("Kafka is not reachable (test)")
        self.sent.extend(records)

    async def stop(self) -> None:
        """Nothing to close."""
