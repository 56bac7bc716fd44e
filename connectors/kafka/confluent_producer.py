"""Producing to Kafka with confluent-kafka: send hands each message to librdkafka, flush waits for every ack."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import KafkaException

from connectors.base import Delivery, Headers, Producer
from connectors.kafka.confluent_batch import LazyDeliveries, SendBatch
from connectors.kafka.confluent_errors import kafka_cause, reason
from exchange.errors import DeliveryError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.confluent import ConfluentTransport

__all__ = ["ConfluentProducer", "discard"]



def _as_bytes(data: object, what: str) -> bytes | None:
    if data is None or type(data) is bytes:
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)  # librdkafka copies on produce, but a caller's later change must not race that
    raise TypeError(f"message {what} must be bytes or None, not {type(data).__name__}")


def _check_headers(headers: Headers | None) -> Headers | None:
    if not headers:
        return None
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"a header must be (str, bytes), got ({type(name).__name__}, {type(value).__name__})")
    return [(name, bytes(value)) for name, value in headers]


def discard(producer: confluent_kafka.Producer) -> None:
    """Drop what ``producer`` still holds; librdkafka frees it when the last reference goes."""
    # A producer that failed for good may raise its fatal error (or a SystemError from a callback run
    # with that error set) once more here; it is being dropped for that very reason.
    with suppress(KafkaException, SystemError):
        producer.purge()
        producer.poll(0)


class ConfluentProducer(Producer):
    """Sends asynchronously; :meth:`flush` waits for every acknowledgement and reports them in send order.

    All producers of a transport share one librdkafka producer; each keeps its own batch (see
    :mod:`connectors.kafka.confluent_batch`), so a flush reports (and waits for) only what this producer sent.
    """

    def __init__(self, transport: ConfluentTransport) -> None:
        self._transport = transport
        self._producer, self._generation = transport.shared_producer()
        self._partitions: dict[str, int] = {}
        # A flush or a replacement starts a new batch, so late reports land in a batch nobody reads.
        self._batch = SendBatch()
        self._closed = False

    def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one message; a missing topic or partition is reported by the next :meth:`flush`."""
        batch = self._batch
        # The produce hot path: bytes key and value and nothing else, to a topic this batch has sent to
        # already (so its partitions are known, a replaced producer was followed, and the producer is open).
        if (type(key) is bytes and type(value) is bytes and headers is None and partition is None
                and timestamp_ms is None and topic in batch.ready_topics):
            batch.topics.append(topic)
            batch.keys.append(key)
            batch.values.append(value)
            try:
                self._producer.produce(topic, value, key, on_delivery=batch.report)
            except BufferError:
                self._produce_when_room(batch, len(batch.topics) - 1)
            except KafkaException as exc:
                batch.failed.append(exc.args[0])
            return
        if self._closed:
            raise TransportError("kafka: the producer is closed")
        if value is not None and type(value) is not bytes:
            value = _as_bytes(value, "value")
        if key is not None and type(key) is not bytes:
            key = _as_bytes(key, "key")
        if not batch.topics:
            self._follow_replacement()
            batch = self._batch
        count = self._partitions.get(topic) or self._partition_count(topic)
        if count is None:
            batch.refused.append(TopicNotFound(f"kafka: topic {topic!r} does not exist"))
            return
        if partition is not None and not 0 <= partition < count:
            batch.refused.append(DeliveryError(f"kafka: topic {topic!r} has no partition {partition}"))
            return
        extra: dict[str, Any] = {}
        if headers:
            extra["headers"] = _check_headers(headers)
        if timestamp_ms is not None:
            extra["timestamp"] = timestamp_ms
        if partition is None and key is None:
            partition = random.randrange(count)  # as librdkafka would, but known here (see SendBatch)
        if partition is not None:
            extra["partition"] = partition
        self._produce(batch, batch.add(topic, value, key, extra))
        batch.ready_topics.add(topic)

    def _produce(self, batch: SendBatch, index: int) -> None:
        """Hand message ``index`` of ``batch`` to librdkafka, waiting while its queue is full."""
        topic, value, key, extra = batch.message(index)
        try:
            self._producer.produce(topic, value, key, on_delivery=batch.report, **extra)
        except BufferError:
            self._produce_when_room(batch, index)
        except KafkaException as exc:
            batch.failed.append(exc.args[0])

    def _produce_when_room(self, batch: SendBatch, index: int) -> None:
        """librdkafka's queue was full for message ``index``: serve acknowledgements so it drains, then
        try again, until the flush timeout."""
        topic, value, key, extra = batch.message(index)
        deadline = time.monotonic() + self._transport.flush_timeout
        while True:
            if time.monotonic() > deadline:
                raise DeliveryError("kafka: the producer queue stayed full; is the cluster reachable?") from None
            self._serve(self._producer.poll, 0.05)
            if self._batch is not batch:
                return  # the shared producer was replaced, and this message resent through the new one
            try:
                self._producer.produce(topic, value, key, on_delivery=batch.report, **extra)
                return
            except BufferError:
                continue
            except KafkaException as exc:
                batch.failed.append(exc.args[0])
                return

    def flush(self) -> Sequence[Delivery]:
        """Wait for every acknowledgement; raise if any message was not acknowledged.

        Raises :class:`TopicNotFound` if a message was sent to a missing topic, else
        :class:`DeliveryError` naming how many failed and the first failure. Either way the caller
        must assume none of the batch was delivered (some may have been: resend, consumers dedupe).
        The deliveries returned are worked out from librdkafka's reports when first read.
        """
        if self._closed:
            raise TransportError("kafka: the producer is closed")
        try:
            if not len(self._batch):
                return []
            deadline = time.monotonic() + self._transport.flush_timeout
            while True:
                # Short slices: the shared queue may hold other producers' messages, and a refusal of
                # idempotence is acted on at once.
                self._serve(self._producer.flush, min(0.1, max(deadline - time.monotonic(), 0)))
                self._follow_replacement()
                if not self._batch.outstanding() or time.monotonic() >= deadline:
                    break
            return self._deliveries(self._batch)
        finally:
            self._batch = SendBatch()

    def _serve(self, call: Callable[[float], int], timeout: float) -> None:
        """``call(timeout)``: the shared producer's flush or poll, which serves delivery reports."""
        try:
            call(timeout)
        # confluent-kafka raises a fatal error from flush/poll, and a delivery callback it runs after
        # setting that exception fails with SystemError (caused by it).
        except (KafkaException, SystemError) as exc:
            cause = kafka_cause(exc)
            if cause is None or not self._transport.replace_failed_producer(self._generation, cause):
                raise DeliveryError(f"kafka: the producer failed: {reason(cause or exc)}") from exc
            self._follow_replacement()

    def _follow_replacement(self) -> None:
        """If the shared producer was replaced, resend through the new one what the old did not deliver."""
        producer, generation = self._transport.shared_producer()
        if generation == self._generation:
            return
        self._producer, self._generation = producer, generation
        # The old producer got no producer id, so it delivered nothing more: everything unacknowledged goes again.
        self._batch, unacknowledged = self._batch.carried_over(self._partitions)
        for index in unacknowledged:
            self._produce(self._batch, index)

    def _deliveries(self, batch: SendBatch) -> Sequence[Delivery]:
        """The batch's deliveries, or the error saying what was not delivered."""
        missing = next((r for r in batch.refused if isinstance(r, TopicNotFound)), None)
        if missing is not None:
            raise missing
        not_delivered = len(batch) - len(batch.acked_offsets)
        if not_delivered:
            first = batch.refused[0] if batch.refused else batch.failed[0] if batch.failed else None
            why = "no acknowledgement in time" if first is None else reason(first)
            raise DeliveryError(
                f"kafka: {not_delivered} of {len(batch)} messages were not acknowledged (first: {why})"
            ) from (first if isinstance(first, Exception) else None)
        return LazyDeliveries(batch, dict(self._partitions))

    def _partition_count(self, topic: str) -> int | None:
        # Partition counts only grow; re-read the metadata only for a topic not seen yet.
        self._partitions = self._transport.partition_counts()
        return self._partitions.get(topic)

    def close(self) -> None:
        """Forget what was not flushed (librdkafka may still deliver some of it: the queue is shared)."""
        if self._closed:
            return
        self._closed = True
        self._batch = SendBatch()
        self._transport.forget(self)
