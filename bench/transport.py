"""Produce and consume records/s through each transport, beside the raw clients, in one run.

    .venv/bin/python -m bench.transport [--records N]

Every path moves the same Confluent-framed Avro payloads (Resident records, keyed by resident ID):
our transports through the bus interface (`connectors`), and raw kafka-python and raw confluent-kafka
on the same tansu broker, started here. The raw clients get the same delivery guarantees as ours
(acks=all, idempotent producer, a flush every 10,000 records) so the ratio is the cost of our layer,
not of a weaker promise; consume rates count the records after the first poll that returned any (so
neither the consumer-group join, seconds on tansu, nor the clients' different first-poll sizes count).
Rates are the best of ``--repeat`` runs; ratios (ours/raw per client) are the median over adjacent
pairs of runs, alternating which side goes first, because the broker shares the machine's two cores and
a slow spell would otherwise land on one side only. The embedded log has an absolute target of 50,000
records/s each way.
Results go to ``bench/results/transport-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.codec import resident_records
from bench.machine import describe
from connectors import Transport, open_transport
from connectors.base import partition_for
from connectors.embedded import EmbeddedTransport
from connectors.tansu import TansuBroker
from exchange.codec import AvroCodec
from exchange.registry import standards_registry

RESULTS_DIR = Path(__file__).parent / "results"
PARTITIONS = 4
FLUSH_EVERY = 10_000
TARGET_RATIO = 0.8
EMBEDDED_TARGET = 50_000
FAST_GROUP = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000, "max_poll_interval_ms": 10000}


def payloads(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` (key, framed Avro value) pairs of realistic Resident records."""
    registry = standards_registry()
    schema = registry.latest("public-security.residents-value")
    codec = AvroCodec(registry)
    return [(r["resident_id"].encode(), codec.encode(schema, r)) for r in resident_records(count)]


Timing = tuple[int, float, float]  # records moved, perf_counter at start and at end


def best(action: Callable[[], int | Timing], repeat: int) -> float:
    """The best of ``repeat`` timed runs (the broker shares this machine's cores: single runs are noisy)."""
    return max(timed(action) for _ in range(repeat))


def paired(ours: Callable[[], int | Timing], raw: Callable[[], int | Timing],
           repeat: int) -> tuple[list[float], list[float]]:
    """``repeat`` runs of each, in adjacent pairs (alternating which goes first), so a slow spell of the
    shared machine (the broker runs on the same two cores) hits both sides of a pair alike."""
    mine: list[float] = []
    theirs: list[float] = []
    for i in range(repeat):
        if i % 2:
            theirs.append(timed(raw))
            mine.append(timed(ours))
        else:
            mine.append(timed(ours))
            theirs.append(timed(raw))
    return mine, theirs


def ratio(mine: list[float], theirs: list[float]) -> float:
    """The median of the pairs' ratios: robust to one lucky or unlucky run on either side."""
    return statistics.median(m / t for m, t in zip(mine, theirs, strict=True))


def timed(action: Callable[[], int | Timing]) -> float:
    """Records per second of ``action``, which returns how many records it moved, or that and the
    moments (``perf_counter``) its timed part started and ended, for consumers (see ``Consumed``)."""
    start = time.perf_counter()
    result = action()
    end = time.perf_counter()
    moved, start, end = result if isinstance(result, tuple) else (result, start, end)
    return moved / (end - start)


class Consumed:
    """Counts what a consumer reads, timed from the end of its first non-empty poll to its last record.

    The first poll waits for the group to form (seconds on tansu), and clients differ in how much that
    poll returns (ours at the first record, a raw ``consume(5000, timeout)`` only with 5,000), so that
    poll's records are not counted; closing the consumer (leaving the group) is not timed either.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0
        self.timed = 0
        self.start = 0.0
        self.end = 0.0

    @property
    def done(self) -> bool:
        return self.seen >= self.count

    def add(self, got: int) -> None:
        if got and not self.seen:
            self.start = time.perf_counter()
        elif got:
            self.timed += got
        self.seen += got
        if self.done:
            self.end = time.perf_counter()

    def result(self) -> Timing:
        return self.timed, self.start, self.end


# -- our transports


def ours_produce(transport: Transport, topic: str, data: list[tuple[bytes, bytes]]) -> int:
    producer = transport.producer()
    for i, (key, value) in enumerate(data, start=1):
        producer.send(topic, value, key=key)
        if i % FLUSH_EVERY == 0:
            producer.flush()
    producer.flush()
    producer.close()
    return len(data)


def ours_consume(transport: Transport, topic: str, count: int) -> Timing:
    consumed = Consumed(count)
    with transport.consumer(f"bench-{uuid.uuid4().hex}", [topic]) as consumer:
        while not consumed.done:
            consumed.add(len(consumer.poll(max_records=5000, timeout=5.0)))
    return consumed.result()


# -- raw clients


def raw_kafka_python_producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                         batch_size=65_536)


def raw_kafka_python_produce(producer: Any, topic: str, data: list[tuple[bytes, bytes]]) -> int:
    for i, (key, value) in enumerate(data, start=1):
        producer.send(topic, value, key=key, partition=partition_for(key, PARTITIONS))
        if i % FLUSH_EVERY == 0:
            producer.flush()
    producer.flush()
    return len(data)


def raw_kafka_python_consume(bootstrap: str, topic: str, count: int) -> Timing:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex}",
                             auto_offset_reset="earliest", enable_auto_commit=False, **FAST_GROUP)
    consumed = Consumed(count)
    while not consumed.done:
        consumed.add(sum(len(batch) for batch in consumer.poll(timeout_ms=5000, max_records=5000).values()))
    consumer.close()
    return consumed.result()


def raw_confluent_producer(bootstrap: str) -> Any:
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
                     "partitioner": "murmur2_random"})


def raw_confluent_produce(producer: Any, topic: str, data: list[tuple[bytes, bytes]]) -> int:
    failed = []

    def delivered(error: Any, _message: Any) -> None:  # the least a caller needs to know nothing was lost
        if error is not None:
            failed.append(error)

    for i, (key, value) in enumerate(data, start=1):
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        if i % FLUSH_EVERY == 0:
            producer.flush()
    producer.flush()
    assert not failed, failed[:3]
    return len(data)


def raw_confluent_consume(bootstrap: str, topic: str, count: int) -> Timing:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "max.poll.interval.ms": 10000})
    consumer.subscribe([topic])
    consumed = Consumed(count)
    while not consumed.done:
        # What a consumer that commits and dead-letters takes from a message (and our Message carries):
        # check it, take its key, value, timestamp and headers, and note where it sat.
        got = sum(1 for m in consumer.consume(5000, timeout=5.0)
                  if m.error() is None
                  and (m.key(), m.value(), m.topic(), m.partition(), m.offset(), m.timestamp(), m.headers()))
        consumed.add(got)
    consumer.close()
    return consumed.result()


def measure(records: int, repeat: int = 3) -> dict[str, Any]:
    data = payloads(records)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedTransport(Path(tmp) / "bus.db")
        embedded.create_topic("bench", PARTITIONS)
        results["embedded"] = {"produce": best(lambda: ours_produce(embedded, "bench", data), repeat),
                               "consume": best(lambda: ours_consume(embedded, "bench", records), repeat)}
        embedded.close()
        broker = TansuBroker(Path(tmp)).start()
        try:
            for client in ("kafka-python", "confluent"):
                ours = open_transport(broker.url, kafka_client=client, kafka_options=FAST_GROUP)
                mine, raw = f"ours-{client}", f"raw-{client}"
                ours.create_topic(mine, PARTITIONS)
                ours.create_topic(raw, PARTITIONS)
                make_raw, raw_produce, raw_consume = (
                    (raw_kafka_python_producer, raw_kafka_python_produce, raw_kafka_python_consume)
                    if client == "kafka-python" else
                    (raw_confluent_producer, raw_confluent_produce, raw_confluent_consume))
                # Both producers are long-lived and warmed up: an idempotent producer's first send waits
                # for its producer id (about a second on tansu), which is start-up, not throughput.
                raw_producer = make_raw(broker.bootstrap)
                raw_produce(raw_producer, raw, data[:1])
                ours_produce(ours, mine, data[:1])
                produce = paired(lambda t=ours, topic=mine: ours_produce(t, topic, data),
                                 lambda r=raw, p=raw_produce, rp=raw_producer: p(rp, r, data), repeat)
                consume = paired(lambda t=ours, topic=mine: ours_consume(t, topic, records),
                                 lambda r=raw, c=raw_consume: c(broker.bootstrap, r, records), repeat)
                results[client] = {"produce": max(produce[0]), "raw_produce": max(produce[1]),
                                   "consume": max(consume[0]), "raw_consume": max(consume[1]),
                                   "produce_ratio": ratio(*produce), "consume_ratio": ratio(*consume),
                                   "runs": {"produce": produce, "consume": consume}}
                if hasattr(raw_producer, "close"):
                    raw_producer.close()
                ours.close()
        finally:
            broker.stop()
    return results


def report(results: dict[str, Any], records: int, console: Console) -> bool:
    table = Table(title=f"transports — {records:,} Resident records, framed Avro")
    for column in ("transport", "produce rec/s", "raw", "ratio", "consume rec/s", "raw", "ratio", "target"):
        table.add_column(column, justify="right" if column != "transport" else "left")
    met = True
    embedded = results["embedded"]
    ok = min(embedded["produce"], embedded["consume"]) >= EMBEDDED_TARGET
    met &= ok
    table.add_row("embedded log", f"{embedded['produce']:,.0f}", "", "", f"{embedded['consume']:,.0f}", "", "",
                  f"≥{EMBEDDED_TARGET:,} {'met' if ok else 'MISSED'}")
    for client in ("kafka-python", "confluent"):
        r = results[client]
        produce_ratio, consume_ratio = r["produce_ratio"], r["consume_ratio"]
        ok = min(produce_ratio, consume_ratio) >= TARGET_RATIO
        met &= ok
        table.add_row(f"kafka ({client})", f"{r['produce']:,.0f}", f"{r['raw_produce']:,.0f}", f"{produce_ratio:.2f}",
                      f"{r['consume']:,.0f}", f"{r['raw_consume']:,.0f}", f"{consume_ratio:.2f}",
                      f"≥{TARGET_RATIO} {'met' if ok else 'MISSED'}")
    console.print(table)
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per path: rates are the best run, ratios the median of adjacent pairs")
    args, _ = parser.parse_known_args(argv)
    console = Console()
    results = measure(args.records, args.repeat)
    met = report(results, args.records, console)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"transport-{stamp}.json"
    path.write_text(json.dumps({"bench": "transport", "records": args.records, "machine": describe(),
                                "results": results, "targets_met": met}, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
