"""The Kafka transport on confluent-kafka (librdkafka): the fast native client behind the same interface.

librdkafka settings chosen here, and why:

- ``partitioner=murmur2_random``: Java's and kafka-python's key hash, so a key lands in the same partition
  whichever client wrote it; librdkafka's default (``consistent_random``, CRC32) would put it elsewhere.
- ``acks=all`` and ``enable.idempotence``: an acknowledged message is on every in-sync replica, and
  librdkafka's retries cannot duplicate or reorder it. A broker without idempotence support makes
  librdkafka fail fast with ``_UNSUPPORTED_FEATURE``; the transport then replaces its (shared) producer
  with one without idempotence, each producer resends its unacknowledged batch, and a warning is logged.
- ``allow.auto.create.topics=false``: a typo must not create a topic; sends to a missing topic raise
  :class:`TopicNotFound` (checked against the cluster's full metadata, which never auto-creates).
- ``enable.auto.commit=false``, ``auto.offset.reset=earliest``: the caller commits after its state is
  durable (DESIGN §6); a group with no commits starts at the beginning, as the embedded log does.
- ``logger``: librdkafka's log lines go to Python logging instead of stderr.

All producers of a transport send through one librdkafka producer (thread-safe, and its producer id is
fetched once), each keeping its own batch of delivery reports. A consumer's ``poll`` returns at the first
message and takes what came with it: librdkafka's ``consume(n, timeout)`` would wait for all ``n``.

Two answers of ListOffsets are checked against fetched records, because Kafka-protocol brokers differ
(tansu 0.6 answers "latest" with the base offset of the last batch + 1, and any timestamp with 0): the
end offset comes from a fetch response's high watermark and ``offsets_for_time`` reads forward from the
broker's answer to the first record at or after the time. On Apache Kafka both checks cost one fetch.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.base import Consumer, Delivery, Headers, Message, Producer, TopicInfo, TopicPartition, Transport
from exchange.errors import ConfigError, DeliveryError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.options import KafkaOptions

__all__ = ["ConfluentConsumer", "ConfluentProducer", "ConfluentTransport"]

log = logging.getLogger(__name__)

NO_TIMESTAMP = confluent_kafka.TIMESTAMP_NOT_AVAILABLE

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
# Errors that mean a request was wrong, not that the bus failed.
_CONFIG_ERRORS = {
    KafkaError._INVALID_ARG,
    KafkaError.INVALID_CONFIG,
    KafkaError.INVALID_PARTITIONS,
    KafkaError.INVALID_REPLICATION_FACTOR,
    KafkaError.TOPIC_EXCEPTION,
    KafkaError.POLICY_VIOLATION,
}
# How a broker refuses the idempotent producer: librdkafka's local check, or the broker's answer.
_NO_IDEMPOTENCE = {KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION}
# What produce() was given: topic, value, key and its keyword arguments.
_Sent = tuple[str, bytes | None, bytes | None, dict[str, Any]]


def _reason(error: object) -> str:
    return error.str() if isinstance(error, KafkaError) else str(error)


@contextmanager
def _kafka_errors(doing: str, error: type[Exception] = TransportError) -> Iterator[None]:
    """Re-raise librdkafka's exceptions as the exchange's own, saying what was being done."""
    try:
        yield
    except KafkaException as exc:
        kafka_error = exc.args[0] if exc.args else None
        message = f"kafka: {doing}: {_reason(kafka_error)}"
        if isinstance(kafka_error, KafkaError):
            if kafka_error.code() in _CONFIG_ERRORS:
                raise ConfigError(message) from exc
            if kafka_error.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
                raise TopicNotFound(message) from exc
        raise error(message) from exc


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


def _discard(producer: confluent_kafka.Producer) -> None:
    """Drop what ``producer`` still holds; librdkafka frees it when the last reference goes."""
    # A producer that failed for good may raise its fatal error (or a SystemError from a callback run
    # with that error set) once more here; it is being dropped for that very reason.
    with suppress(KafkaException, SystemError):
        producer.purge()
        producer.poll(0)


def _kafka_cause(exc: BaseException | None) -> KafkaError | None:
    """The KafkaError carried by ``exc`` or by what caused it."""
    while exc is not None:
        if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
            return exc.args[0]
        exc = exc.__cause__ or exc.__context__
    return None


class ConfluentTransport(Transport):
    """A Kafka-protocol cluster through confluent-kafka; ``options`` carry the cluster, security and tuning."""

    def __init__(self, options: KafkaOptions) -> None:
        self.options = options
        self._idempotence = options.enable_idempotence
        # Blocking admin and metadata calls wait this long for the broker.
        self.timeout = options.request_timeout_ms / 1000
        # librdkafka reports every message within delivery.timeout.ms; a flush waits a little longer.
        self.flush_timeout = (options.delivery_timeout_ms + options.request_timeout_ms) / 1000
        with _kafka_errors("creating the admin client", ConfigError):
            self._admin = AdminClient(self.client_config())
        self._reader: _PartitionReader | None = None
        self._reader_lock = threading.Lock()
        self._producer: confluent_kafka.Producer | None = None
        self._producer_generation = 0
        self._producer_lock = threading.Lock()
        self._closed = False
        # Held until they close, so closing the transport closes what callers forgot.
        self._clients: set[ConfluentProducer | ConfluentConsumer] = set()

    def __enter__(self) -> ConfluentTransport:
        return self

    def __repr__(self) -> str:
        return f"ConfluentTransport({','.join(self.options.bootstrap_servers)!r})"

    # -- configuration ------------------------------------------------------------------------------

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings every client shares: the cluster, identity, security and timeouts."""
        o = self.options
        config: dict[str, Any] = {
            "bootstrap.servers": ",".join(o.bootstrap_servers),
            "client.id": o.client_id,
            "security.protocol": o.security_protocol.lower(),
            "socket.connection.setup.timeout.ms": o.connect_timeout_ms,
            "retry.backoff.ms": o.retry_backoff_ms,
            "logger": log,
        }
        optional = {
            "sasl.mechanism": o.sasl_mechanism,
            "sasl.username": o.sasl_username,
            "sasl.password": o.sasl_password,
            "ssl.ca.location": o.ssl_cafile,
            "ssl.certificate.location": o.ssl_certfile,
            "ssl.key.location": o.ssl_keyfile,
        }
        config.update({key: value for key, value in optional.items() if value is not None})
        return config

    def producer_config(self) -> dict[str, Any]:
        o = self.options
        config = self.client_config() | {
            "acks": "all",
            "enable.idempotence": self._idempotence,
            "partitioner": "murmur2_random",
            "allow.auto.create.topics": False,
            "linger.ms": o.linger_ms,
            "batch.size": o.batch_size,
            "request.timeout.ms": o.request_timeout_ms,
            "delivery.timeout.ms": o.delivery_timeout_ms,
        }
        if o.compression_type is not None:
            config["compression.type"] = o.compression_type
        return config

    def consumer_config(self, group: str, client_id: str | None = None) -> dict[str, Any]:
        o = self.options
        return self.client_config() | {
            "client.id": client_id or o.client_id,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "allow.auto.create.topics": False,
            "session.timeout.ms": o.session_timeout_ms,
            "heartbeat.interval.ms": o.heartbeat_interval_ms,
            "max.poll.interval.ms": o.max_poll_interval_ms,
            "fetch.max.bytes": o.fetch_max_bytes,
            "max.partition.fetch.bytes": o.max_partition_fetch_bytes,
            "fetch.wait.max.ms": o.fetch_max_wait_ms,
        }

    def shared_producer(self) -> tuple[confluent_kafka.Producer, int]:
        """The librdkafka producer every :class:`ConfluentProducer` of this transport sends through, and
        its generation (raised each time it is replaced).

        librdkafka producers are thread-safe and meant to be shared: one set of connections, and an
        idempotent producer's id is fetched once (that takes librdkafka 0.5-1 s) rather than per batch.
        """
        with self._producer_lock:
            if self._closed:
                raise TransportError("kafka: the transport is closed")
            if self._producer is None:
                config = self.producer_config()
                with _kafka_errors("creating a producer", ConfigError):
                    self._producer = confluent_kafka.Producer(config)
                self._producer_generation += 1
            return self._producer, self._producer_generation

    def replace_failed_producer(self, generation: int, failure: KafkaError) -> bool:
        """Producer ``generation`` failed for good (librdkafka's fatal errors): make a new one.

        True if the failure was a refusal of idempotence, so the new producer goes without it and what
        the old one held may simply be resent: without a producer id it delivered nothing.
        """
        refused = failure.code() in _NO_IDEMPOTENCE
        with self._producer_lock:
            if generation == self._producer_generation and self._producer is not None:
                if refused and self._idempotence:
                    log.warning(
                        "kafka: the cluster does not support idempotent produce (%s); producing without "
                        "it, so a retry may duplicate a message",
                        failure.str(),
                    )
                    self._idempotence = False
                else:
                    refused = False
                    log.error("kafka: the producer failed for good (%s); starting a new one", failure.str())
                _discard(self._producer)
                self._producer = None
        self.shared_producer()
        return refused

    # -- Transport ----------------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        replication_factor: int | None = None,
        config: dict[str, str] | None = None,
    ) -> bool:
        """Create ``name``; False if it existed. Returns once the topic shows in the cluster's metadata.

        ``partitions`` defaults to ``options.default_partitions`` (if None, the broker's default) and
        ``replication_factor`` to ``options.default_replication_factor``.
        """
        if not isinstance(name, str) or not _TOPIC_NAME.fullmatch(name) or name in {".", ".."}:
            raise ConfigError(f"invalid topic name {name!r}: use 1-249 of a-z A-Z 0-9 . _ -")
        partitions = self.options.default_partitions if partitions is None else partitions
        replicas = self.options.default_replication_factor if replication_factor is None else replication_factor
        for what, count in (("partition", partitions), ("replica", replicas)):
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                raise ConfigError(f"topic {name!r} needs at least 1 {what}, got {count!r}")
        topic = NewTopic(
            name, num_partitions=-1 if partitions is None else partitions, replication_factor=replicas,
            config=config or {},
        )
        with _kafka_errors(f"creating topic {name!r}"):
            try:
                self._admin.create_topics([topic], request_timeout=self.timeout)[name].result()
            except KafkaException as exc:
                if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    return False
                raise
        self._await_topic(name, partitions)
        return True

    def _await_topic(self, name: str, partitions: int | None) -> None:
        """Wait until every broker we ask knows ``name`` with all its partitions."""
        deadline = time.monotonic() + self.timeout
        while True:
            count = self.partition_counts().get(name)
            if count is not None and (partitions is None or count >= partitions):
                return
            if time.monotonic() > deadline:
                raise TransportError(f"kafka: topic {name!r} was created but is not visible after {self.timeout}s")
            time.sleep(0.05)

    def partition_counts(self) -> dict[str, int]:
        """Every topic and its partition count, from the cluster's full metadata.

        Asking for one named topic instead would let a broker with auto-creation on create it.
        """
        with _kafka_errors("reading cluster metadata"):
            metadata = self._admin.list_topics(timeout=self.timeout)
            self._admin.poll(0)  # hands librdkafka's queued log lines to Python logging
        return {
            name: len(topic.partitions)
            for name, topic in metadata.topics.items()
            # Kafka's own bookkeeping topics (__consumer_offsets, __transaction_state) are not the bus's.
            if topic.error is None and not name.startswith("__")
        }

    def partition_count(self, topic: str) -> int:
        count = self.partition_counts().get(topic)
        if count is None:
            raise TopicNotFound(f"kafka: topic {topic!r} does not exist")
        return count

    def topics(self) -> dict[str, TopicInfo]:
        return {name: TopicInfo(name, count) for name, count in sorted(self.partition_counts().items())}

    def producer(self) -> Producer:
        producer = ConfluentProducer(self)
        self._clients.add(producer)
        return producer

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer:
        """A new member of ``group``; it joins the group during its first polls."""
        if not group or not isinstance(group, str):
            raise ConfigError(f"a consumer group needs a non-empty name, got {group!r}")
        if isinstance(topics, str) or not (names := list(dict.fromkeys(topics))):
            raise ConfigError(f"subscribe to a non-empty list of topic names, got {topics!r}")
        known = self.partition_counts()
        missing = [name for name in names if name not in known]
        if missing:
            raise TopicNotFound(f"kafka: topics {missing} do not exist")
        consumer = ConfluentConsumer(self, group, names, client_id=client_id)
        self._clients.add(consumer)
        return consumer

    def end_offsets(self, topic: str) -> dict[int, int]:
        count = self.partition_count(topic)
        with self._reader_lock:
            return self._partition_reader().end_offsets(topic, range(count))

    def offsets_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        """The earliest offset of ``tp`` whose timestamp is >= ``timestamp_ms`` (the end offset if none)."""
        if not 0 <= tp.partition < self.partition_count(tp.topic):
            raise TopicNotFound(f"kafka: topic {tp.topic!r} has no partition {tp.partition}")
        with self._reader_lock:
            return self._partition_reader().offset_for_time(tp, timestamp_ms)

    def committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        count = self.partition_count(topic)
        request = ConsumerGroupTopicPartitions(group, [KafkaTopicPartition(topic, p) for p in range(count)])
        with _kafka_errors(f"reading the offsets of group {group!r}"):
            try:
                answer = self._admin.list_consumer_group_offsets([request], request_timeout=self.timeout)
                offsets = answer[group].result().topic_partitions
            except KafkaException as exc:
                if exc.args and exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                    return {}
                raise
        return {tp.partition: tp.offset for tp in offsets if tp.error is None and tp.offset >= 0}

    def describe(self) -> dict[str, str]:
        """The cluster and client, for logs (no credentials)."""
        o = self.options
        return {
            "transport": type(self).__name__,
            "client": f"confluent-kafka {confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})",
            "bootstrap_servers": ",".join(o.bootstrap_servers),
            "security_protocol": o.security_protocol,
            "idempotence": "on" if self._idempotence else "off",
        }

    def close(self) -> None:
        """Close every producer and consumer made here (consumers leave their groups); what producers
        had not flushed is dropped."""
        try:
            for client in list(self._clients):
                client.close()
        finally:
            with self._producer_lock:
                self._closed = True
                if self._producer is not None:
                    _discard(self._producer)
                    self._producer = None
            with self._reader_lock:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None

    def forget(self, client: ConfluentProducer | ConfluentConsumer) -> None:
        self._clients.discard(client)

    def _partition_reader(self) -> _PartitionReader:
        if self._reader is None:
            self._reader = _PartitionReader(self)
        return self._reader


class ConfluentProducer(Producer):
    """Sends asynchronously; :meth:`flush` waits for every acknowledgement and reports them in send order.

    All producers of a transport share one librdkafka producer; each keeps its own batch, so a flush
    reports (and waits for) only what this producer sent.
    """

    def __init__(self, transport: ConfluentTransport) -> None:
        self._transport = transport
        self._producer, self._generation = transport.shared_producer()
        self._partitions: dict[str, int] = {}
        # Per send since the last flush: the outcome (None until acknowledged, then a Delivery or the
        # failure), and what produce() was given (None if it never was), kept to resend after a fallback.
        # A flush or a fallback starts new lists, so late acknowledgements land in lists nobody reads.
        self._results: list[Delivery | Exception | KafkaError | None] = []
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
        callback = partial(_record, results, index)
        deadline = None
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=callback, **extra)
                return
            except BufferError:
                # The queue is full: serve acknowledgements so it drains, then try again.
                deadline = deadline or time.monotonic() + self._transport.flush_timeout
                if time.monotonic() > deadline:
                    raise DeliveryError("kafka: the producer queue stayed full; is the cluster reachable?") from None
                self._serve(self._producer.poll, 0.05)
                if self._results is not results:
                    return  # the shared producer was replaced, and this message resent through the new one
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
                if None not in self._results or time.monotonic() >= deadline:
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
            cause = _kafka_cause(exc)
            if cause is None or not self._transport.replace_failed_producer(self._generation, cause):
                raise DeliveryError(f"kafka: the producer failed: {_reason(cause or exc)}") from exc
            self._follow_replacement()

    def _follow_replacement(self) -> None:
        """If the shared producer was replaced, resend through the new one what the old did not deliver."""
        producer, generation = self._transport.shared_producer()
        if generation == self._generation:
            return
        self._producer, self._generation = producer, generation
        # The old producer got no producer id, so it delivered nothing more: everything unacknowledged goes again.
        self._results = [
            None if sent is not None and not isinstance(result, Delivery) else result
            for result, sent in zip(self._results, self._sent, strict=True)
        ]
        for index, sent in enumerate(self._sent):
            if sent is not None and self._results[index] is None:
                self._produce(index)

    def _deliveries(self, results: list[Any]) -> list[Delivery]:
        missing = next((r for r in results if isinstance(r, TopicNotFound)), None)
        if missing is not None:
            raise missing
        failures = [r for r in results if not isinstance(r, Delivery)]
        if failures:
            first = failures[0]
            why = "no acknowledgement in time" if first is None else _reason(first)
            raise DeliveryError(
                f"kafka: {len(failures)} of {len(results)} messages were not acknowledged (first: {why})"
            ) from (first if isinstance(first, Exception) else None)
        return results

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
    """librdkafka's delivery report for message ``index`` of a batch."""
    if error is None:
        results[index] = Delivery(message.topic(), message.partition(), message.offset())
    else:
        results[index] = error


class ConfluentConsumer(Consumer):
    """A group member; librdkafka joins, heartbeats and rebalances in the background and inside poll."""

    def __init__(self, transport: ConfluentTransport, group: str, topics: list[str], *, client_id: str | None) -> None:
        self._transport = transport
        self.group = group
        self._assignment: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}  # only where known: after a read or a seek
        self._pending_seeks: dict[TopicPartition, int] = {}
        self._topics = set(topics)
        self._ever_assigned = False
        self._deferred: TransportError | None = None
        self._closed = False
        with _kafka_errors(f"joining group {group!r}", ConfigError):
            self._consumer = confluent_kafka.Consumer(transport.consumer_config(group, client_id))
        with _kafka_errors(f"subscribing to {topics}"):
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
        with _kafka_errors("polling"):
            # consume() with a timeout waits for all max_records to arrive; poll() returns at the first.
            raw = self._consumer.consume(max_records, 0)
            if not raw and timeout > 0:
                first = self._consumer.poll(timeout)
                if first is not None:
                    raw = [first, *self._consumer.consume(max_records - 1, 0)] if max_records > 1 else [first]
        return self._messages(raw)

    def _messages(self, raw: list[Any]) -> list[Message]:
        records: list[Message] = []
        append = records.append  # the loop below is the consume hot path: keep lookups out of it
        last: dict[tuple[str, int], int] = {}
        for item in raw:
            error = item.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                failure = TransportError(f"kafka: consuming {item.topic()} [{item.partition()}]: {error.str()}")
                if records:  # hand over what was read; the error comes with the next poll
                    self._deferred = failure
                    break
                raise failure
            kind, timestamp = item.timestamp()
            topic, partition, offset = item.topic(), item.partition(), item.offset()
            headers = item.headers()
            append(Message(topic, partition, offset, item.key(), item.value(),
                           timestamp if kind != NO_TIMESTAMP else -1,
                           [(name, value or b"") for name, value in headers] if headers else []))
            last[topic, partition] = offset
        for (topic, partition), offset in last.items():
            self._positions[TopicPartition(topic, partition)] = offset + 1
        return records

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit synchronously; only partitions this member holds may be committed."""
        self._check_open()
        if offsets is None:
            offsets = {tp: offset for tp, offset in self._positions.items() if tp in self._assignment}
        if not offsets:
            return
        foreign = sorted((tp.topic, tp.partition) for tp in offsets if tp not in self._assignment)
        if foreign:
            raise TransportError(f"kafka: cannot commit {foreign}: not assigned to this member of {self.group!r}")
        request = [KafkaTopicPartition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
        with _kafka_errors(f"committing offsets of group {self.group!r}"):
            answer = self._consumer.commit(offsets=request, asynchronous=False)
        failed = next((tp for tp in answer or [] if tp.error is not None), None)
        if failed is not None:
            raise TransportError(f"kafka: commit of {failed.topic} [{failed.partition}] failed: {failed.error}")

    def committed(self, tp: TopicPartition) -> int | None:
        self._check_open()
        with _kafka_errors(f"reading the committed offset of {tp}"):
            [answer] = self._consumer.committed(
                [KafkaTopicPartition(tp.topic, tp.partition)], timeout=self._transport.timeout
            )
        if answer.error is not None:
            missing = answer.error.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)
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
        with _kafka_errors(f"seeking {tp} to {offset}"):
            self._consumer.seek(KafkaTopicPartition(tp.topic, tp.partition, offset))
        self._positions[tp] = offset

    def position(self, tp: TopicPartition) -> int:
        self._assigned(tp)
        if tp in self._positions:
            return self._positions[tp]
        # Nothing read or sought yet: the group's committed offset, else where "earliest" starts. Both cost
        # a broker round trip, so the answer is kept until a read or a seek moves the position.
        committed = self.committed(tp)
        if committed is None:
            with _kafka_errors(f"reading the start offset of {tp}"):
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
            with _kafka_errors(f"leaving group {self.group!r}"):
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


class _PartitionReader:
    """A consumer outside any group, reading single partitions to check the broker's offset answers."""

    def __init__(self, transport: ConfluentTransport) -> None:
        self._timeout = transport.timeout
        # librdkafka wants a group id on every consumer; this one never joins or commits.
        config = transport.consumer_config(f"exchange-offset-reader-{uuid.uuid4().hex}") | {
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
        }
        with _kafka_errors("creating an offset reader", ConfigError):
            self._consumer = confluent_kafka.Consumer(config)

    def end_offsets(self, topic: str, partitions: Iterable[int]) -> dict[int, int]:
        ends = {}
        starts = {}
        with _kafka_errors(f"reading the end offsets of {topic!r}"):
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
        with _kafka_errors(f"looking up a time in {tp}"):
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
        with _kafka_errors(f"reading {topic!r}"):
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
