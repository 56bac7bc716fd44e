"""A consumer outside any group, reading single partitions to check the broker's offset answers.

Kafka-protocol brokers differ in two answers of ListOffsets (tansu 0.6 answers "latest" with the base
offset of the last batch + 1, and any timestamp with 0), so both are checked against fetched records: the
end offset comes from a fetch response's high watermark, and a time lookup reads forward from the
broker's answer to the first record at or after the time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import KafkaError
from confluent_kafka import TopicPartition as KafkaTopicPartition

from connectors.base import TopicPartition
from connectors.kafka.confluent_errors import kafka_errors
from exchange.errors import ConfigError, TransportError

if TYPE_CHECKING:
    from connectors.kafka.confluent import ConfluentTransport

__all__ = ["PartitionReader"]


class PartitionReader:
    """A consumer outside any group, reading single partitions to check the broker's offset answers."""

    def __init__(self, transport: ConfluentTransport) -> None:
        self._timeout = transport.timeout
        # librdkafka wants a group id on every consumer; this one never joins or commits.
        config = transport.consumer_config(f"exchange-offset-reader-{uuid.uuid4().hex}") | {
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
        }
        with kafka_errors("creating an offset reader", ConfigError):
            self._consumer = confluent_kafka.Consumer(config)

    def end_offsets(self, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        ends = {}
        starts = {}
        with kafka_errors(f"reading the end offsets of {topic!r}"):
            for partition in partitions:
                low, high = self._consumer.get_watermark_offsets(
                    KafkaTopicPartition(topic, partition), timeout=self._timeout, cached=False
                )
                ends[partition] = high
                if high > low:
                    starts[partition] = high - 1
        # The last record the broker admits to may open a batch: read on to the fetch's high watermark.
        for partition, end in self._read(topic, starts, lambda record: False).items():
            ends[partition] = max(ends[partition], end)
        return ends

    def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        with kafka_errors(f"looking up a time in {tp}"):
            [answer] = self._consumer.offsets_for_times(
                [KafkaTopicPartition(tp.topic, tp.partition, timestamp_ms)], timeout=self._timeout
            )
        if answer.error is not None:
            raise TransportError(f"kafka: looking up a time in {tp}: {answer.error}")
        if answer.offset < 0:  # no record that late
            return self.end_offsets(tp.topic, [tp.partition])[tp.partition]
        # Producers may set any timestamp, so read in offset order from the broker's answer.
        def at_or_after(record: Any) -> bool:
            return bool(record.timestamp()[1] >= timestamp_ms)

        return self._read(tp.topic, {tp.partition: answer.offset}, at_or_after)[tp.partition]

    def _read(self, topic: str, starts: dict[int, int], wanted: Callable[[Any], bool]) -> dict[int, int]:
        """Per partition, the offset of the first record from ``starts`` on that is ``wanted``, else the
        partition's end (the high watermark of the fetch that reached it)."""
        if not starts:
            return {}
        found: dict[int, int] = {}
        unsettled = set(starts)
        deadline = time.monotonic() + self._timeout
        with kafka_errors(f"reading {topic!r}"):
            self._consumer.assign([KafkaTopicPartition(topic, p, offset) for p, offset in starts.items()])
            try:
                while unsettled:
                    if time.monotonic() > deadline:
                        raise TransportError(f"kafka: reading {topic!r} partitions {sorted(unsettled)} timed out")
                    # poll() returns at the first record (consume() would wait its whole timeout for 500).
                    first = self._consumer.poll(0.1)
                    for record in [] if first is None else [first, *self._consumer.consume(500, 0)]:
                        partition, error = record.partition(), record.error()
                        if partition not in unsettled:
                            continue
                        if error is None and wanted(record):
                            found[partition] = record.offset()
                            unsettled.discard(partition)
                        elif error is None:
                            found[partition] = record.offset() + 1
                        elif error.code() == KafkaError._PARTITION_EOF:
                            found[partition] = max(found.get(partition, 0), record.offset())
                            unsettled.discard(partition)
                        else:
                            raise TransportError(f"kafka: reading {topic!r} [{partition}]: {error.str()}")
            finally:
                self._consumer.unassign()
        return found

    def close(self) -> None:
        self._consumer.close()
