"""Consuming from Kafka with confluent-kafka: a group member whose poll returns at the first message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import KafkaError
from confluent_kafka import TopicPartition as KafkaTopicPartition

from connectors.base import NO_HEADERS, Consumer, Message, TopicPartition
from connectors.kafka.confluent_errors import MISSING_TOPIC, kafka_errors
from exchange.errors import ConfigError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.confluent import ConfluentTransport

__all__ = ["ConfluentConsumer"]

NO_TIMESTAMP = confluent_kafka.TIMESTAMP_NOT_AVAILABLE


class ConfluentConsumer(Consumer):
    """A group member; librdkafka joins, heartbeats and rebalances in the background and inside poll."""

    def __init__(self, transport: ConfluentTransport, group: str, topics: list[str], *, client_id: str | None) -> None:
        self._transport = transport
        self.group = group
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}  # only where known: after a read or a seek
        self._unnoted = False  # records were handed out since the positions were last taken from librdkafka
        self._pending_seeks: dict[TopicPartition, int] = {}
        self._topics = set(topics)
        self._ever_assigned = False
        self._deferred: TransportError | None = None
        self._closed = False
        with kafka_errors(f"joining group {group!r}", ConfigError):
            self._consumer = confluent_kafka.Consumer(transport.consumer_config(group, client_id))
        with kafka_errors(f"subscribing to {topics}"):
            self._consumer.subscribe(
                topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
            )

    def _on_assign(self, consumer: confluent_kafka.Consumer, partitions: list[KafkaTopicPartition]) -> None:
        self._ever_assigned = True
        for kafka_tp in partitions:
            tp = TopicPartition(kafka_tp.topic, kafka_tp.partition)
            self._assignment.add(tp)
            if tp in self._pending_seeks:
                kafka_tp.offset = self._positions[tp] = self._pending_seeks.pop(tp)
        self._pending_seeks.clear()  # a seek on a partition that went to another member is void
        consumer.assign(partitions)  # with the pending seeks in place of the committed offsets

    def _on_revoke(self, consumer: confluent_kafka.Consumer, partitions: list[KafkaTopicPartition]) -> None:
        for kafka_tp in partitions:
            tp = TopicPartition(kafka_tp.topic, kafka_tp.partition)
            self._assignment.discard(tp)
            self._positions.pop(tp, None)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        """Return what is ready, or wait up to ``timeout`` for the first message and take what came with it."""
        self._check_open()
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        with kafka_errors("polling"):
            # consume() with a timeout waits for all max_records to arrive; poll() returns at the first.
            raw = self._consumer.consume(max_records, 0)
            if not raw and timeout > 0:
                first = self._consumer.poll(timeout)
                if first is not None:
                    raw = [first, *self._consumer.consume(max_records - 1, 0)] if max_records > 1 else [first]
        return self._messages(raw)

    def _messages(self, raw: list[Any]) -> list[Message]:
        records: list[Message] = []
        failure: TransportError | None = None
        # The consume hot path. Names it uses are bound to locals; librdkafka's messages are dropped as
        # they are converted (popped from the reversed list) and a message without headers shares one
        # empty tuple, so a batch leaves the garbage collector one new object per record, as raw
        # confluent-kafka does: a second and third would cost more than the rest of the loop.
        append, new, no_timestamp, no_headers = records.append, tuple.__new__, NO_TIMESTAMP, NO_HEADERS
        raw.reverse()
        pop = raw.pop
        while raw:
            item = pop()
            error = item.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF and failure is None:
                    failure = TransportError(f"kafka: consuming {item.topic()} [{item.partition()}]: {error.str()}")
                continue  # librdkafka has handed out the records after it too: keep them
            kind, timestamp = item.timestamp()
            headers = item.headers()
            append(new(Message, (item.topic(), item.partition(), item.offset(), item.key(), item.value(),
                                 timestamp if kind != no_timestamp else -1,
                                 [(name, value or b"") for name, value in headers] if headers else no_headers)))
        if failure is not None:
            if not records:
                raise failure
            self._deferred = failure  # hand over what was read; the error comes with the next poll
        if records:
            # Where each partition now stands is asked of librdkafka when needed (_note_positions):
            # noting it here, per record, costs a sixth of the whole consume path.
            self._unnoted = True
        return records

    def _note_positions(self) -> None:
        """Take the positions librdkafka moved while handing out records since the last call."""
        if not self._unnoted:
            return
        self._unnoted = False
        held = [KafkaTopicPartition(tp.topic, tp.partition) for tp in self._assignment]
        with kafka_errors("reading the consumer's positions"):
            answer = self._consumer.position(held)
        for kafka_tp in answer:
            if kafka_tp.offset >= 0:  # OFFSET_INVALID where nothing was read yet
                self._positions[TopicPartition(kafka_tp.topic, kafka_tp.partition)] = kafka_tp.offset

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit synchronously; only partitions this member holds may be committed."""
        self._check_open()
        if offsets is None:
            self._note_positions()
            offsets = {tp: offset for tp, offset in self._positions.items() if tp in self._assignment}
        if not offsets:
            return
        foreign = sorted((tp.topic, tp.partition) for tp in offsets if tp not in self._assignment)
        if foreign:
            raise TransportError(f"kafka: cannot commit {foreign}: not assigned to this member of {self.group!r}")
        request = [KafkaTopicPartition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        with kafka_errors(f"committing offsets of group {self.group!r}"):
            answer = self._consumer.commit(offsets=request, asynchronous=False)
        failed = next((tp for tp in answer or [] if tp.error is not None), None)
        if failed is not None:
            raise TransportError(f"kafka: commit of {failed.topic} [{failed.partition}] failed: {failed.error}")

    def committed(self, tp: TopicPartition) -> int | None:
        self._check_open()
        with kafka_errors(f"reading the committed offset of {tp}"):
            [answer] = self._consumer.committed(
                [KafkaTopicPartition(tp.topic, tp.partition)], timeout=self._transport.timeout
            )
        if answer.error is not None:
            missing = answer.error.code() in MISSING_TOPIC
            raise (TopicNotFound if missing else TransportError)(
                f"kafka: reading the committed offset of {tp}: {answer.error.str()}"
            )
        return answer.offset if answer.offset >= 0 else None

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Move to ``offset``. Before the group first assigns this member anything, a seek on a subscribed
        topic waits and applies on assignment (the embedded log assigns at once, Kafka during polls)."""
        self._check_open()
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        if tp not in self._assignment:
            if self._ever_assigned or tp.topic not in self._topics:
                raise TransportError(f"kafka: {tp} is not assigned to this member of {self.group!r}")
            self._pending_seeks[tp] = offset
            return
        self._note_positions()  # before the seek, so a read noted later cannot undo it
        with kafka_errors(f"seeking {tp} to {offset}"):
            self._consumer.seek(KafkaTopicPartition(tp.topic, tp.partition, offset))
        self._positions[tp] = offset

    def position(self, tp: TopicPartition) -> int:
        self._assigned(tp)
        self._note_positions()
        if tp in self._positions:
            return self._positions[tp]
        # Nothing read or sought yet: the group's committed offset, else where "earliest" starts. Both cost
        # a broker round trip, so the answer is kept until a read or a seek moves the position.
        committed = self.committed(tp)
        if committed is None:
            with kafka_errors(f"reading the start offset of {tp}"):
                committed, _ = self._consumer.get_watermark_offsets(
                    KafkaTopicPartition(tp.topic, tp.partition), timeout=self._transport.timeout
                )
        self._positions[tp] = int(committed)
        return int(committed)

    def offsets_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        self._check_open()
        return self._transport.offsets_for_time(tp, timestamp_ms)

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._assignment.clear()
        self._positions.clear()
        try:
            with kafka_errors(f"leaving group {self.group!r}"):
                self._consumer.close()
        finally:
            self._transport.forget(self)

    def _assigned(self, tp: TopicPartition) -> None:
        self._check_open()
        if tp not in self._assignment:
            raise TransportError(f"kafka: {tp} is not assigned to this member of {self.group!r}")

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("kafka: the consumer is closed")
