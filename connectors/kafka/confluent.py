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
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import confluent_kafka
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.base import (
    Consumer,
    Producer,
    TopicInfo,
    TopicPartition,
    Transport,
    check_subscription,
    check_topic_name,
)
from connectors.kafka.confluent_consumer import ConfluentConsumer
from connectors.kafka.confluent_errors import NO_IDEMPOTENCE, kafka_errors
from connectors.kafka.confluent_producer import ConfluentProducer, discard
from connectors.kafka.confluent_reader import PartitionReader
from exchange.errors import ConfigError, TopicNotFound, TransportError

if TYPE_CHECKING:
    from connectors.kafka.options import KafkaOptions

__all__ = ["ConfluentConsumer", "ConfluentProducer", "ConfluentTransport"]

log = logging.getLogger(__name__)



class ConfluentTransport(Transport):
    """A Kafka-protocol cluster through confluent-kafka; ``options`` carry the cluster, security and tuning."""

    def __init__(self, options: KafkaOptions) -> None:
        self.options = options
        self._idempotence = options.enable_idempotence
        # Blocking admin and metadata calls wait this long for the broker.
        self.timeout = options.request_timeout_ms / 1000
        # librdkafka reports every message within delivery.timeout.ms; a flush waits a little longer.
        self.flush_timeout = (options.delivery_timeout_ms + options.request_timeout_ms) / 1000
        with kafka_errors("creating the admin client", ConfigError):
            self._admin = AdminClient(self.client_config())
        self._reader: PartitionReader | None = None
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
                with kafka_errors("creating a producer", ConfigError):
                    self._producer = confluent_kafka.Producer(config)
                self._producer_generation += 1
            return self._producer, self._producer_generation

    def replace_failed_producer(self, generation: int, failure: KafkaError) -> bool:
        """Producer ``generation`` failed for good (librdkafka's fatal errors): make a new one.

        True if the failure was a refusal of idempotence, so the new producer goes without it and what
        the old one held may simply be resent: without a producer id it delivered nothing.
        """
        refused = failure.code() in NO_IDEMPOTENCE
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
                discard(self._producer)
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
        check_topic_name(name)
        partitions = self.options.default_partitions if partitions is None else partitions
        replicas = self.options.default_replication_factor if replication_factor is None else replication_factor
        for what, count in (("partition", partitions), ("replica", replicas)):
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                raise ConfigError(f"topic {name!r} needs at least 1 {what}, got {count!r}")
        topic = NewTopic(
            name, num_partitions=-1 if partitions is None else partitions, replication_factor=replicas,
            config=config or {},
        )
        with kafka_errors(f"creating topic {name!r}"):
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
        with kafka_errors("reading cluster metadata"):
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
        names = check_subscription(group, topics)
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
        with kafka_errors(f"reading the offsets of group {group!r}"):
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
                    discard(self._producer)
                    self._producer = None
            with self._reader_lock:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None

    def forget(self, client: ConfluentProducer | ConfluentConsumer) -> None:
        self._clients.discard(client)

    def _partition_reader(self) -> PartitionReader:
        if self._reader is None:
            self._reader = PartitionReader(self)
        return self._reader

