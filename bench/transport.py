"""Produce and consume records/s through each transport, beside the raw clients, in one run.

    .venv/bin/python -m bench.transport [--records N]

Every path moves the same Confluent-framed Avro payloads (Resident records, keyed by resident ID):
our transports through the bus interface (`connectors`), and raw kafka-python and raw confluent-kafka
on the same tansu broker, started here. Ratios are ours/raw per client; the embedded log has an
absolute target of 50,000 records/s each way. Results go to ``bench/results/transport-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import json
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


def timed(action: Callable[[], int]) -> float:
    """Records per second of ``action`` (which returns how many records it moved)."""
    start = time.perf_counter()
    moved = action()
    return moved / (time.perf_counter() - start)


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


def ours_consume(transport: Transport, topic: str, count: int) -> int:
    seen = 0
    with transport.consumer(f"bench-{uuid.uuid4().hex}", [topic]) as consumer:
        while seen < count:
            seen += len(consumer.poll(max_records=5000, timeout=5.0))
    return seen


# -- raw clients


def raw_kafka_python_produce(bootstrap: str, topic: str, data: list[tuple[bytes, bytes]]) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=262_144)
    for key, value in data:
        producer.send(topic, value, key=key, partition=partition_for(key, PARTITIONS))
    producer.flush()
    producer.close()
    return len(data)


def raw_kafka_python_consume(bootstrap: str, topic: str, count: int) -> int:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex}",
                             auto_offset_reset="earliest", enable_auto_commit=False, **FAST_GROUP)
    seen = 0
    while seen < count:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=5000, max_records=5000).values())
    consumer.close()
    return seen


def raw_confluent_produce(bootstrap: str, topic: str, data: list[tuple[bytes, bytes]]) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "partitioner": "murmur2_random"})
    for key, value in data:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush()
    return len(data)


def raw_confluent_consume(bootstrap: str, topic: str, count: int) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "max.poll.interval.ms": 10000})
    consumer.subscribe([topic])
    seen = 0
    while seen < count:
        seen += sum(1 for m in consumer.consume(5000, timeout=5.0) if m.error() is None)
    consumer.close()
    return seen


def measure(records: int) -> dict[str, Any]:
    data = payloads(records)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedTransport(Path(tmp) / "bus.db")
        embedded.create_topic("bench", PARTITIONS)
        results["embedded"] = {"produce": timed(lambda: ours_produce(embedded, "bench", data)),
                               "consume": timed(lambda: ours_consume(embedded, "bench", records))}
        embedded.close()
        broker = TansuBroker(Path(tmp)).start()
        try:
            for client in ("kafka-python", "confluent"):
                ours = open_transport(broker.url, kafka_client=client, kafka_options=FAST_GROUP)
                mine, raw = f"ours-{client}", f"raw-{client}"
                ours.create_topic(mine, PARTITIONS)
                ours.create_topic(raw, PARTITIONS)
                raw_produce, raw_consume = ((raw_kafka_python_produce, raw_kafka_python_consume)
                                            if client == "kafka-python" else
                                            (raw_confluent_produce, raw_confluent_consume))
                results[client] = {
                    "produce": timed(lambda t=ours, topic=mine: ours_produce(t, topic, data)),
                    "raw_produce": timed(lambda r=raw, p=raw_produce: p(broker.bootstrap, r, data)),
                    "consume": timed(lambda t=ours, topic=mine: ours_consume(t, topic, records)),
                    "raw_consume": timed(lambda r=raw, c=raw_consume: c(broker.bootstrap, r, records)),
                }
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
        produce_ratio, consume_ratio = r["produce"] / r["raw_produce"], r["consume"] / r["raw_consume"]
        r["produce_ratio"], r["consume_ratio"] = produce_ratio, consume_ratio
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
    args, _ = parser.parse_known_args(argv)
    console = Console()
    results = measure(args.records)
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
