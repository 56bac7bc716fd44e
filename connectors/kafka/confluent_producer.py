"""Producing to Kafka with confluent-kafka: send hands each message to librdkafka, flush waits for every ack."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from itertools import repeat
from operator import is_
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException

from connectors.base import Delivery, Headers, Producer
from connectors.kafka.confluent_errors import kafka_cause, reason
from exchange.errors import DeliveryError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.confluent import ConfluentTransport

__all__ = ["ConfluentProducer", "discard"]

# What produce() was given: topic, value, key and its keyword arguments.
_Sent = tuple[str, bytes | None, bytes | None, dict[str, Any]]
# The keyword arguments of a message with only a key and a value (shared, never changed).
_NO_EXTRA: dict[str, Any] = {}
# What a delivery report carries for an acknowledged message; flush turns it into a Delivery.
_Acknowledged = confluent_kafka.Message


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

    All producers of a transport share one librdkafka producer; each keeps its own batch, so a flush
    reports (and waits for) only what this producer sent.
    """

    def __init__(self, transport: ConfluentTransport) -> None:
        self._transport = transport
        self._producer, self._generation = transport.shared_producer()
        self._partitions: dict[str, int] = {}
        # Per send since the last flush: the outcome (None until acknowledged, then librdkafka's
        # acknowledged message or the failure), and what produce() was given (None if it never was),
        # kept to resend after a fallback.
        # A flush or a fallback starts new lists, so late acknowledgements land in lists nobody reads.
        self._results: list[confluent_kafka.Message | Exception | KafkaError | None] = []
        self._sent: list[_Sent | None] = []
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
        if self._closed:
            raise TransportError("kafka: the producer is closed")
        if value is not None and type(value) is not bytes:
            value = _as_bytes(value, "value")
        if key is not None and type(key) is not bytes:
            key = _as_bytes(key, "key")
        results = self._results
        # The produce hot path: a batch under way (so no replacement to follow first), a topic whose
        # partitions are known, and nothing but a key and a value. Everything else takes the long way.
        if results and headers is None and partition is None and timestamp_ms is None and topic in self._partitions:
            index = len(results)
            results.append(None)
            self._sent.append((topic, value, key, _NO_EXTRA))
            try:
                self._producer.produce(topic, value, key, on_delivery=partial(_record, results, index))
            except BufferError:
                self._produce_when_room(index, results)
            except KafkaException as exc:
                results[index] = exc.args[0]
            return
        extra: dict[str, Any] = {}
        if headers:
            extra["headers"] = _check_headers(headers)
        if timestamp_ms is not None:
            extra["timestamp"] = timestamp_ms
        if partition is not None:
            extra["partition"] = partition
        if not self._results:
            self._follow_replacement()
        count = self._partitions.get(topic) or self._partition_count(topic)
        if count is None or (partition is not None and not 0 <= partition < count):
            self._sent.append(None)  # never handed to librdkafka
            self._results.append(
                TopicNotFound(f"kafka: topic {topic!r} does not exist")
                if count is None
                else DeliveryError(f"kafka: topic {topic!r} has no partition {partition}")
            )
            return
        self._results.append(None)
        self._sent.append((topic, value, key, extra))
        self._produce(len(self._results) - 1)

    def _produce(self, index: int) -> None:
        """Hand message ``index`` to librdkafka, waiting while its queue is full."""
        results = self._results
        topic, value, key, extra = self._sent[index]  # type: ignore[misc]
        try:
            self._producer.produce(topic, value, key, on_delivery=partial(_record, results, index), **extra)
        except BufferError:
            self._produce_when_room(index, results)
        except KafkaException as exc:
            results[index] = exc.args[0]

    def _produce_when_room(self, index: int, results: list[Any]) -> None:
        """librdkafka's queue was full for message ``index``: serve acknowledgements so it drains, then
        try again, until the flush timeout."""
        topic, value, key, extra = self._sent[index]  # type: ignore[misc]
        deadline = time.monotonic() + self._transport.flush_timeout
        while True:
            if time.monotonic() > deadline:
                raise DeliveryError("kafka: the producer queue stayed full; is the cluster reachable?") from None
            self._serve(self._producer.poll, 0.05)
            if self._results is not results:
                return  # the shared producer was replaced, and this message resent through the new one
            try:
                self._producer.produce(topic, value, key, on_delivery=partial(_record, results, index), **extra)
                return
            except BufferError:
                continue
            except KafkaException as exc:
                results[index] = exc.args[0]
                return

    def flush(self) -> list[Delivery]:
        """Wait for every acknowledgement; raise if any message was not acknowledged.

        Raises :class:`TopicNotFound` if a message was sent to a missing topic, else
        :class:`DeliveryError` naming how many failed and the first failure. Either way the caller
        must assume none of the batch was delivered (some may have been: resend, consumers dedupe).
        """
        if self._closed:
            raise TransportError("kafka: the producer is closed")
        try:
            if not self._results:
                return []
            deadline = time.monotonic() + self._transport.flush_timeout
            while True:
                # Short slices: the shared queue may hold other producers' messages, and a refusal of
                # idempotence is acted on at once.
                self._serve(self._producer.flush, min(0.1, max(deadline - time.monotonic(), 0)))
                self._follow_replacement()
                # By identity: `None in results` would compare with KafkaError, whose == fails on None.
                if not any(map(is_, self._results, repeat(None))) or time.monotonic() >= deadline:
                    break
            return self._deliveries(self._results)
        finally:
            self._results, self._sent = [], []

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
        self._results = [
            None if sent is not None and type(result) is not _Acknowledged else result
            for result, sent in zip(self._results, self._sent, strict=True)
        ]
        for index, sent in enumerate(self._sent):
            if sent is not None and self._results[index] is None:
                self._produce(index)

    def _deliveries(self, results: list[Any]) -> list[Delivery]:
        """The batch's deliveries in send order, built only now from librdkafka's acknowledged messages."""
        failures = [r for r in results if type(r) is not _Acknowledged]
        if failures:
            missing = next((r for r in failures if isinstance(r, TopicNotFound)), None)
            if missing is not None:
                raise missing
            first = failures[0]
            why = "no acknowledgement in time" if first is None else reason(first)
            raise DeliveryError(
                f"kafka: {len(failures)} of {len(results)} messages were not acknowledged (first: {why})"
            ) from (first if isinstance(first, Exception) else None)
        return [Delivery(m.topic(), m.partition(), m.offset()) for m in results]

    def _partition_count(self, topic: str) -> int | None:
        # Partition counts only grow; re-read the metadata only for a topic not seen yet.
        self._partitions = self._transport.partition_counts()
        return self._partitions.get(topic)

    def close(self) -> None:
        """Forget what was not flushed (librdkafka may still deliver some of it: the queue is shared)."""
        if self._closed:
            return
        self._closed = True
        self._results, self._sent = [], []
        self._transport.forget(self)


def _record(results: list[Any], index: int, error: KafkaError | None, message: Any) -> None:
    """librdkafka's delivery report for message ``index`` of a batch: the acknowledged message itself
    (its Delivery is built at flush, off this per-message path), or the failure."""
    results[index] = message if error is None else error
