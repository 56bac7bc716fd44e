"""The Kafka transport through kafka-python: any Kafka-protocol cluster (Apache Kafka, Redpanda, tansu).

Settings chosen here for every client, and why:

- ``acks="all"`` and idempotence: an acknowledged message is on every in-sync replica and a retry
  cannot duplicate or reorder it. A cluster that refuses idempotence gets a warning and producers
  without it (at-least-once still holds: consumers process idempotently).
- ``allow_auto_create_topics=False``: a typo must not create a topic; topics are checked against the
  cluster's metadata and a missing one raises :class:`TopicNotFound`.
- ``enable_auto_commit=False``, ``auto_offset_reset="earliest"``: the caller commits after its state is
  durable (DESIGN §6); a group with no commits starts at the beginning, as on the embedded log.
- ``bootstrap_timeout_ms`` = ``connect_timeout_ms`` and ``max_block_ms`` = ``request_timeout_ms``: a
  cluster that is down is a :class:`TransportError` within those times, never a hang.

Two things are worked around rather than trusted: ListOffsets answers some brokers get wrong (see
``kafka_python_reader``), and kafka-python 3.0 discarding a group join that finished between polls
(see ``kafka_python_consumer.keep_finished_join``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, TypeVar

import kafka
import kafka.errors as kafka_errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from connectors.base import (
    Consumer,
    Producer,
    TopicInfo,
    TopicPartition,
    Transport,
    check_subscription,
    check_topic_name,
)
from connectors.kafka.kafka_python_consumer import KafkaPythonConsumer
from connectors.kafka.kafka_python_errors import kafka_errors_as_transport, reason
from connectors.kafka.kafka_python_producer import KafkaPythonProducer
from connectors.kafka.kafka_python_reader import OffsetReader
from connectors.kafka.options import KafkaOptions
from exchange.errors import ConfigError, TopicNotFound, TransportError

__all__ = ["KafkaTransport"]

log = logging.getLogger(__name__)

_UNKNOWN_TOPIC = kafka_errors.UnknownTopicOrPartitionError.errno
_METADATA_MAX_AGE = 300.0  # seconds, as Kafka's metadata.max.age.ms


_Client = TypeVar("_Client", KafkaAdminClient, KafkaProducer, KafkaConsumer)


def _check_reachable(servers: Sequence[str], timeout: float) -> None:
    """Raise TransportError unless some bootstrap server accepts a TCP connection within ``timeout``.

    Checked before any kafka-python client exists: one that fails to bootstrap leaves its sockets open.
    """
    failures = []
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout / len(servers)):
                return
        except OSError as exc:
            failures.append(f"{server}: {exc}")
    raise TransportError(f"kafka: no bootstrap server reachable ({'; '.join(failures)})")


def _construct(cls: type[_Client], config: dict[str, Any]) -> _Client:
    """``cls(**config)``; if that fails, stop the I/O thread kafka-python started before failing."""
    client = cls.__new__(cls)
    try:
        client.__init__(**config)  # type: ignore[misc]
    except BaseException:
        for part, stop in (("_client", "close"), ("_net", "stop")):
            with suppress(Exception):
                getattr(getattr(client, part), stop)()
        raise
    return client


class KafkaTransport(Transport):
    """A Kafka-protocol cluster; ``options`` say where it is, how to authenticate and how to tune clients.

    Opening it connects an admin client, so an unreachable cluster fails here, within
    ``options.connect_timeout_ms``.
    """

    def __init__(self, options: KafkaOptions) -> None:
        self.options = options
        self._servers = options.bootstrap_servers
        self._idempotence = options.enable_idempotence
        self._lock = threading.Lock()
        # topic -> (partition count, when read): refreshed now and then, as partitions may be added.
        self._partitions: dict[str, tuple[int, float]] = {}
        self._reader: OffsetReader | None = None
        # Held until they close, so closing the transport closes what callers forgot.
        self._clients: set[KafkaPythonProducer | KafkaPythonConsumer] = set()
        _check_reachable(self._servers, options.connect_timeout_ms / 1000)
        with self._errors("connecting the admin client"):
            self._admin = _construct(KafkaAdminClient, self._client_config())

    def __enter__(self) -> KafkaTransport:
        return self

    def __repr__(self) -> str:
        return f"KafkaTransport({','.join(self._servers)!r})"

    def describe(self) -> dict[str, str]:
        return {
            "transport": "kafka",
            "client": f"kafka-python {kafka.__version__}",
            "bootstrap_servers": ",".join(self._servers),
            "client_id": self.options.client_id,
            "security_protocol": self.options.security_protocol,
        }

    # -- client settings ----------------------------------------------------------------------------

    def _client_config(self) -> dict[str, Any]:
        """kafka-python keys every client shares: the cluster, identity, security and timeouts."""
        o = self.options
        config: dict[str, Any] = {
            "bootstrap_servers": list(o.bootstrap_servers),
            "client_id": o.client_id,
            "security_protocol": o.security_protocol,
            "request_timeout_ms": o.request_timeout_ms,
            "retry_backoff_ms": o.retry_backoff_ms,
            "bootstrap_timeout_ms": o.connect_timeout_ms,
        }
        optional = {
            "sasl_mechanism": o.sasl_mechanism,
            "sasl_plain_username": o.sasl_username,
            "sasl_plain_password": o.sasl_password,
            "ssl_cafile": o.ssl_cafile,
            "ssl_certfile": o.ssl_certfile,
            "ssl_keyfile": o.ssl_keyfile,
        }
        config.update({key: value for key, value in optional.items() if value is not None})
        return config

    def kafka_producer(self) -> KafkaProducer:
        """A kafka-python producer; idempotent unless the cluster refused it."""
        o = self.options
        config = self._client_config() | {
            "acks": "all",
            "linger_ms": o.linger_ms,
            "batch_size": o.batch_size,
            "compression_type": o.compression_type,
            "delivery_timeout_ms": o.delivery_timeout_ms,
            "max_block_ms": o.request_timeout_ms,
            "allow_auto_create_topics": False,
        }
        with self._errors("creating a producer"):
            if self._idempotence:
                try:
                    return _construct(KafkaProducer, config | {"enable_idempotence": True})
                except kafka_errors.KafkaConfigurationError as exc:
                    if "Idempotent" not in str(exc):  # kafka-python's refusal for brokers before 0.11
                        raise
                    self.idempotence_refused(exc)
            return _construct(KafkaProducer, config | {"enable_idempotence": False})

    def idempotence_refused(self, refusal: BaseException) -> bool:
        """The cluster cannot do idempotent produce: later producers go without it (True if news)."""
        if not self._idempotence:
            return False
        self._idempotence = False
        log.warning(
            "kafka: the cluster at %s refused idempotent produce (%s); producing without it, so a retried "
            "send may be duplicated",
            ",".join(self._servers), reason(refusal),
        )
        return True

    def _kafka_consumer(self, **settings: Any) -> KafkaConsumer:
        o = self.options
        config = self._client_config() | {
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "allow_auto_create_topics": False,
            "session_timeout_ms": o.session_timeout_ms,
            "heartbeat_interval_ms": o.heartbeat_interval_ms,
            "max_poll_interval_ms": o.max_poll_interval_ms,
            "fetch_max_bytes": o.fetch_max_bytes,
            "max_partition_fetch_bytes": o.max_partition_fetch_bytes,
            "fetch_max_wait_ms": o.fetch_max_wait_ms,
        }
        with self._errors("creating a consumer"):
            return _construct(KafkaConsumer, config | settings)

    # -- Transport ----------------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        replication_factor: int | None = None,
        config: dict[str, str] | None = None,
    ) -> bool:
        """Create ``name``; False if it existed. Returns once the cluster's metadata shows the topic.

        ``partitions`` defaults to ``options.default_partitions`` (else the broker's default), and
        ``replication_factor`` to ``options.default_replication_factor``.
        """
        check_topic_name(name)
        count = self.options.default_partitions if partitions is None else partitions
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ConfigError(f"topic {name!r} needs at least 1 partition, got {count!r}")
        request = {
            name: {
                "num_partitions": -1 if count is None else count,
                "replication_factor": replication_factor or self.options.default_replication_factor,
                "configs": dict(config or {}),
            }
        }
        with self._errors(f"creating topic {name!r}"):
            try:
                self._admin.create_topics(request, timeout_ms=self.options.request_timeout_ms)
            except kafka_errors.TopicAlreadyExistsError:
                return False
            self._admin.wait_for_topics([name], timeout_ms=self.options.request_timeout_ms)
        return True

    def topics(self) -> dict[str, TopicInfo]:
        with self._errors("listing topics"):
            described = self._admin.describe_topics()
        return {
            t["name"]: TopicInfo(t["name"], len(t["partitions"]))
            for t in sorted(described, key=lambda t: t["name"])
            if t["error_code"] == 0 and not t.get("is_internal")
        }

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has (cached a while); :class:`TopicNotFound` if it does not exist."""
        cached = self._partitions.get(topic)
        if cached is not None and time.monotonic() - cached[1] < _METADATA_MAX_AGE:
            return cached[0]
        with self._errors(f"describing topic {topic!r}"):
            described = self._admin.describe_topics([topic])
        found = next((t for t in described if t["name"] == topic), None)
        if found is None or found["error_code"] == _UNKNOWN_TOPIC or not found["partitions"]:
            raise TopicNotFound(f"kafka: topic {topic!r} does not exist")
        if found["error_code"] != 0:
            error = kafka_errors.for_code(found["error_code"])
            raise TransportError(f"kafka: describing topic {topic!r} failed: {error.__name__}")
        count = len(found["partitions"])
        self._partitions[topic] = (count, time.monotonic())
        return count

    def producer(self) -> Producer:
        flush_timeout = (self.options.delivery_timeout_ms + self.options.request_timeout_ms) / 1000
        producer = KafkaPythonProducer(self, self.kafka_producer(), flush_timeout, self._clients.discard)
        self._clients.add(producer)
        return producer

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer:
        """A new member of ``group``; it joins, and gets partitions, during its first polls."""
        names = check_subscription(group, topics)
        for name in names:
            self.partition_count(name)  # TopicNotFound now rather than an empty assignment forever
        client = self._kafka_consumer(group_id=group, client_id=client_id or self.options.client_id)
        try:
            consumer = KafkaPythonConsumer(self, client, group, names, self._clients.discard)
        except BaseException:
            client.close(autocommit=False)
            raise
        self._clients.add(consumer)
        return consumer

    def end_offsets(self, topic: str) -> dict[int, int]:
        tps = [KafkaTopicPartition(topic, p) for p in range(self.partition_count(topic))]
        with self._errors(f"reading end offsets of {topic!r}"):
            ends = self._offset_reader().end_offsets(tps)
        return {tp.partition: ends[tp] for tp in tps}

    def offset_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        """The earliest offset of ``tp`` whose timestamp is >= ``timestamp_ms`` (the end offset if none)."""
        if not 0 <= tp.partition < self.partition_count(tp.topic):
            raise TopicNotFound(f"kafka: topic {tp.topic!r} has no partition {tp.partition}")
        ktp = KafkaTopicPartition(tp.topic, tp.partition)
        with self._errors(f"looking up time {timestamp_ms} in {tp}"):
            reader = self._offset_reader()
            end = reader.end_offsets([ktp])[ktp]
            return reader.offset_for_time(ktp, max(timestamp_ms, 0), end)

    def committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        tps = [KafkaTopicPartition(topic, p) for p in range(self.partition_count(topic))]
        with self._errors(f"reading offsets of group {group!r}"):
            offsets = self._admin.list_group_offsets({group: tps}).get(group, {})
        return {
            tp.partition: found.offset
            for tp, found in sorted(offsets.items())
            if tp.topic == topic and found.offset is not None and found.offset >= 0
        }

    def close(self) -> None:
        """Close every producer and consumer made here (consumers leave their groups), then the admin."""
        try:
            for client in list(self._clients):
                client.close()
        finally:
            with self._lock:
                reader, self._reader = self._reader, None
            if reader is not None:
                reader.close()
            self._admin.close()

    def _offset_reader(self) -> OffsetReader:
        with self._lock:
            if self._reader is None:
                self._reader = OffsetReader(self._kafka_consumer, self.options.request_timeout_ms / 1000)
            return self._reader

    def _errors(self, doing: str) -> Any:
        return kafka_errors_as_transport(doing, self._servers)
