"""Producing to Kafka with kafka-python: send hands each message to the client, flush waits for every ack."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import kafka.errors as kafka_errors
from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from connectors.base import Delivery, Headers, Producer, partition_for
from connectors.kafka.kafka_python_errors import reason
from exchange.errors import DeliveryError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.kafka_python import KafkaTransport

# How a cluster refuses the idempotent producer (InitProducerId unsupported or not allowed).
_NO_IDEMPOTENCE = (kafka_errors.UnsupportedVersionError, kafka_errors.ClusterAuthorizationFailedError)
# Per send since the last flush: the client's future, or why the message never reached the client.
_Outcome = FutureRecordMetadata | TransportError


def _as_bytes(data: object, what: str) -> bytes | None:
    if data is None or type(data) is bytes:
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)  # a copy, so a caller reusing its buffer cannot change a queued message
    raise TypeError(f"message {what} must be bytes or None, not {type(data).__name__}")


def _checked_headers(headers: Headers | None) -> Headers | None:
    if not headers:
        return None
    checked = []
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"a header must be (str, bytes), got ({type(name).__name__}, {type(value).__name__})")
        checked.append((name, bytes(value)))
    return checked


class KafkaPythonProducer(Producer):
    """acks=all, idempotent where the cluster allows; keyed messages go to ``partition_for(key)``.

    ``send`` returns at once; a missing topic or partition is reported by the next :meth:`flush`, which
    raises :class:`TopicNotFound` or :class:`DeliveryError` if any message since the last flush was not
    acknowledged (then the caller must assume none were, and resend: some may be duplicated).
    """

    def __init__(
        self,
        transport: KafkaTransport,
        client: KafkaProducer,
        flush_timeout: float,
        on_close: Callable[[KafkaPythonProducer], None],
    ) -> None:
        self._transport = transport
        self._client = client
        self._flush_timeout = flush_timeout
        self._on_close = on_close
        self._outcomes: list[_Outcome] = []
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
        self._check_open()
        key, value, checked = _as_bytes(key, "key"), _as_bytes(value, "value"), _checked_headers(headers)
        try:
            count = self._transport.partition_count(topic)
        except TopicNotFound as exc:
            self._outcomes.append(exc)
            return
        if partition is None and key is not None:
            # Explicit, so every transport and client agrees (kafka-python's default is murmur2 too).
            partition = partition_for(key, count)
        elif partition is not None and not 0 <= partition < count:
            self._outcomes.append(DeliveryError(f"kafka: topic {topic!r} has no partition {partition}"))
            return
        extra: dict[str, Any] = {"headers": checked} if checked else {}
        try:
            future = self._client.send(
                topic, value=value, key=key, partition=partition, timestamp_ms=timestamp_ms, **extra
            )
        except kafka_errors.KafkaError as exc:
            self._outcomes.append(DeliveryError(f"kafka: could not queue a message for {topic!r}: {reason(exc)}"))
            return
        self._outcomes.append(future)

    def flush(self) -> list[Delivery]:
        """Wait for every acknowledgement (at most the delivery timeout); deliveries in send order."""
        self._check_open()
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return []
        # A timeout is not an error yet: the futures still pending are counted as failed below.
        with suppress(kafka_errors.KafkaTimeoutError):
            self._client.flush(timeout=self._flush_timeout)
        deliveries: list[Delivery] = []
        failures: list[BaseException] = []
        for outcome in outcomes:
            if isinstance(outcome, TransportError):
                failures.append(outcome)
            elif not outcome.is_done:
                failures.append(TimeoutError(f"no acknowledgement within {self._flush_timeout:.0f} s"))
            elif outcome.exception is not None:
                failures.append(outcome.exception)
            else:
                sent = outcome.value
                deliveries.append(Delivery(sent.topic, sent.partition, sent.offset))
        if not failures:
            return deliveries
        missing = next((f for f in failures if isinstance(f, TopicNotFound)), None)
        if missing is not None:
            raise missing
        refusal = next((f for f in failures if isinstance(f, _NO_IDEMPOTENCE)), None)
        if refusal is not None and self._transport.idempotence_refused(refusal):
            # The caller resends after this error; the resend goes through a client without idempotence.
            old, self._client = self._client, self._transport.kafka_producer()
            old.close(timeout=0)
        first = failures[0]
        raise DeliveryError(
            f"kafka: {len(failures)} of {len(outcomes)} messages were not acknowledged "
            f"(first: {type(first).__name__}: {reason(first)}); assume none of them were delivered"
        ) from first

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._outcomes = []
        try:
            # Unflushed messages are discarded, as the interface says; do not wait for them.
            self._client.close(timeout=0)
        finally:
            self._on_close(self)

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("kafka: the producer is closed")
