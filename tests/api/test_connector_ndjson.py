"""Streamed NDJSON ingest on ``POST /api/v1/events`` (unit, with an in-memory producer): line
by line, past the JSON body limit, in bounded chunks, bad lines refused by line number."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.connectors import ndjson
from api.connectors.ndjson import CHUNK_LINES, MAX_LINE_BYTES
from api.ingest import IngestRecord
from api.security import hash_key
from api.view import KpiView
from shoppulse.settings import Settings
from tests.api.fakes import FakeEventProducer
from tests.api.helpers import MINUTE, make_snap

KEYS = {"ingest": "sp_ndjson_ingest", "viewer": "sp_ndjson_viewer"}
NDJSON = {"Content-Type": "application/x-ndjson", "X-API-Key": KEYS["ingest"]}
TS = MINUTE - 10 * 60_000


@dataclass
class ChunkProducer(FakeEventProducer):
    """Also keeps the size of every send."""

    chunks: list[int] = field(default_factory=list)

    async def send_all(self, records: Sequence[IngestRecord]) -> None:
        await super().send_all(records)
        self.chunks.append(len(records))


def line(i: int, **over: Any) -> bytes:
    event = {
        "event_id": f"n{i}",
        "store_id": "s1",
        "ts": TS + i,
        "order_id": f"o{i}",
        "customer_id": "c1",
        "status": "paid",
        "amount_minor": 100,
        "currency": "EUR",
    }
    return orjson.dumps({"topic": "shop.orders", "event": event | over})


@pytest.fixture
def producer() -> ChunkProducer:
    return ChunkProducer()


@pytest.fixture
def client(view: KpiView, producer: ChunkProducer) -> Iterator[TestClient]:
    keys = ",".join(f"k{role}:{role}:{hash_key(key)}" for role, key in KEYS.items())
    settings = Settings(topic_namespace="unit.", api_keys=keys, api_max_body_bytes=64 * 1024)
    app = create_app(settings, start_feed=False, view=view, event_producer=producer)
    with TestClient(app) as c:
        yield c


def test_a_stream_larger_than_the_body_limit_is_produced_in_bounded_chunks(
    client: TestClient, producer: ChunkProducer
) -> None:
    count = 2 * CHUNK_LINES + 7
    body = b"\n".join(line(i) for i in range(count)) + b"\n"
    assert len(body) > 64 * 1024  # a JSON body this size is a 413

    def stream() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):  # chunks that split lines
            yield body[start : start + 4096]

    r = client.post("/api/v1/events", content=stream(), headers=NDJSON)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["lines"], summary["accepted"], summary["refused"]) == (count, count, 0)
    assert producer.chunks == [CHUNK_LINES, CHUNK_LINES, 7]
    assert [orjson.loads(x.value)["event_id"] for x in producer.sent] == [
        f"n{i}" for i in range(count)
    ]


def test_bad_lines_are_refused_by_line_number_and_the_others_produced(
    client: TestClient, producer: ChunkProducer, view: KpiView
) -> None:
    view.apply(make_snap("s1", TS - TS % 60_000 + 60_000, final=True))  # TS's minute closed
    lines = [
        line(1, ts=MINUTE),
        b"{not json",
        line(3, ts=MINUTE, amount_minor=-1),
        b"",  # blank lines are skipped
        b'{"topic": "shop.orders", "event": {"pad": "' + b"x" * MAX_LINE_BYTES + b'"}}',
        line(6, ts=MINUTE),
        b"[" + line(7, ts=MINUTE) + b"]",
        line(8),  # late: its minute is closed
        line(9, ts=MINUTE) + b"\r",  # CRLF line ends are fine
    ]
    r = client.post("/api/v1/events", content=b"\n".join(lines), headers=NDJSON)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["lines"], summary["accepted"], summary["refused"]) == (9, 3, 5)
    assert [(e["line"], e["reason"]) for e in summary["errors"]] == [
        (2, "invalid_json"),
        (3, "schema"),
        (5, "too_large"),
        (7, "not_an_object"),
        (8, "late"),
    ]
    assert "amount_minor" in summary["errors"][1]["detail"]
    assert summary["refused_by_reason"] == {
        "invalid_json": 1,
        "schema": 1,
        "too_large": 1,
        "not_an_object": 1,
        "late": 1,
    }
    assert [orjson.loads(x.value)["event_id"] for x in producer.sent] == ["n1", "n6", "n9"]


def test_the_stream_needs_an_ingest_key(client: TestClient, producer: ChunkProducer) -> None:
    body = line(1)
    no_key = {"Content-Type": "application/x-ndjson"}
    assert client.post("/api/v1/events", content=body, headers=no_key).status_code == 401
    viewer = no_key | {"X-API-Key": KEYS["viewer"]}
    assert client.post("/api/v1/events", content=body, headers=viewer).status_code == 403
    assert producer.sent == []


def test_kafka_down_says_which_lines_were_produced(
    client: TestClient, producer: ChunkProducer
) -> None:
    producer.fail = True
    r = client.post("/api/v1/events", content=line(1) + b"\n" + line(2), headers=NDJSON)
    assert r.status_code == 503
    assert r.json()["detail"]["produced_through_line"] == 0


def test_json_bodies_and_other_routes_are_unchanged(client: TestClient) -> None:
    r = client.post(
        "/api/v1/events", content=line(1), headers=NDJSON | {"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    r = client.post(
        "/api/v1/silences", content=line(1), headers=NDJSON | {"X-API-Key": KEYS["ingest"]}
    )
    assert r.status_code == 415  # NDJSON is for ingest only


def test_lines_past_the_limit_are_refused_and_counted_on_metrics(
    client: TestClient, producer: ChunkProducer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ndjson, "MAX_LINES", 2)
    body = b"\n".join([line(1, ts=MINUTE), b"{", line(3, ts=MINUTE), line(4, ts=MINUTE)])
    summary = client.post("/api/v1/events", content=body, headers=NDJSON).json()
    assert (summary["lines"], summary["accepted"]) == (4, 1)
    assert summary["refused_by_reason"] == {"invalid_json": 1, "too_many_lines": 2}
    metrics = client.get("/metrics", headers={"X-API-Key": KEYS["viewer"]}).text
    assert 'shoppulse_ingest_rejected_events_total{reason="too_many_lines"} 2.0' in metrics
    assert 'shoppulse_ingest_events_total{outcome="accepted"} 1.0' in metrics
