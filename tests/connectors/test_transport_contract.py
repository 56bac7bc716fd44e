"""The transport contract: the same tests for the embedded log and for Kafka through each client.

Kafka transports run against the session's tansu broker with quick group settings (tansu holds a
JoinGroup for about half the session timeout, so a 2 s session makes a join take about 1 s). Every test
makes its own topics and groups (uuid names), so tests never see each other's messages on the shared
broker. Kafka assigns partitions during ``poll``, so tests wait for assignments and messages by polling
with a deadline, never by sleeping.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from servers import free_port

from connectors import open_transport
from connectors.base import Consumer, Delivery, Message, TopicPartition, Transport, partition_for
from connectors.embedded import EmbeddedTransport
from connectors.kafka import KafkaOptions, KafkaTransport
from exchange.dead_letters import DeadLetter
from exchange.errors import ConfigError, TopicNotFound, TransportError

TRANSPORTS = ["embedded", "kafka-python", "confluent"]
KAFKA_CLIENTS = ["kafka-python", "confluent"]
QUICK_GROUPS = {"session_timeout_ms": 2_000, "heartbeat_interval_ms": 200, "max_poll_interval_ms": 30_000}
DEADLINE = 30.0  # seconds a test waits for a group to form or for messages to arrive

Opener = Callable[[], Transport]


def kafka_transport(client: str, options: KafkaOptions) -> Transport:
    if client == "confluent":
        from connectors.kafka.confluent import ConfluentTransport

        return ConfluentTransport(options)
    return KafkaTransport(options)


@pytest.fixture(params=TRANSPORTS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens transports on one bus: a fresh embedded file, or the session's Kafka broker."""
    opened: list[Transport] = []

    def open_one() -> Transport:
        if request.param == "embedded":
            # Syncing on every poll and polling the file every 5 ms keeps group hand-overs quick.
            transport: Transport = EmbeddedTransport(
                tmp_path / "bus.db", heartbeat_interval=0.0, poll_interval=0.005
            )
        else:
            bootstrap = request.getfixturevalue("kafka_broker").bootstrap
            transport = kafka_transport(request.param, KafkaOptions(bootstrap_servers=(bootstrap,), **QUICK_GROUPS))
        opened.append(transport)
        return transport

    yield open_one
    for transport in reversed(opened):
        transport.close()


@pytest.fixture
def transport(opener: Opener) -> Transport:
    return opener()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def topic(transport: Transport) -> str:
    """A new topic with 4 partitions."""
    name = unique("contract")
    assert transport.create_topic(name, 4) is True
    return name


def tps(topic: str, partitions: Sequence[int] | range) -> set[TopicPartition]:
    return {TopicPartition(topic, p) for p in partitions}


def produce(transport: Transport, topic: str, per_partition: int, partitions: Sequence[int]) -> list[Delivery]:
    """``per_partition`` messages ``b"<partition>:<i>"`` into each of ``partitions``, in one flush."""
    with transport.producer() as producer:
        for i in range(per_partition):
            for p in partitions:
                producer.send(topic, b"%d:%d" % (p, i), partition=p)
        return producer.flush()


def poll_until(
    consumers: Sequence[Consumer], done: Callable[[list[list[Message]]], bool], what: str, timeout: float = DEADLINE
) -> list[list[Message]]:
    """Poll each consumer in turn, keeping what each read, until ``done(read)`` or the deadline."""
    read: list[list[Message]] = [[] for _ in consumers]
    deadline = time.monotonic() + timeout
    while True:
        for seen, consumer in zip(read, consumers, strict=True):
            seen += consumer.poll(max_records=500, timeout=0.05)
        if done(read):
            return read
        if time.monotonic() > deadline:
            assignments = [sorted((tp.topic, tp.partition) for tp in c.assignment()) for c in consumers]
            counts = [len(seen) for seen in read]
            raise AssertionError(f"no {what} within {timeout} s: assignments {assignments}, read {counts}")


def read(consumer: Consumer, count: int) -> list[Message]:
    """Poll until at least ``count`` messages came (the first polls also wait for the group to form)."""
    return poll_until([consumer], lambda got: len(got[0]) >= count, f"{count} messages")[0]


def drain(consumers: Sequence[Consumer], seconds: float = 0.3) -> list[list[Message]]:
    """Whatever else arrives within ``seconds``: checks that nothing was read twice."""
    deadline = time.monotonic() + seconds
    return poll_until(consumers, lambda _: time.monotonic() > deadline, "drain", timeout=seconds + DEADLINE)


def assigned(consumer: Consumer, partitions: set[TopicPartition]) -> list[Message]:
    """Poll until ``consumer`` holds exactly ``partitions``; return what it read meanwhile."""
    return poll_until([consumer], lambda _: consumer.assignment() == partitions, f"assignment {partitions}")[0]


def share(consumers: Sequence[Consumer], partitions: set[TopicPartition]) -> list[list[Message]]:
    """Poll until every consumer holds some of ``partitions`` and together they hold each exactly once."""

    def shared(_: list[list[Message]]) -> bool:
        held = [c.assignment() for c in consumers]
        return all(held) and set().union(*held) == partitions and sum(map(len, held)) == len(partitions)

    return poll_until(consumers, shared, "group sharing the partitions")


def where(messages: Sequence[Message]) -> set[tuple[TopicPartition, int]]:
    return {(m.topic_partition, m.offset) for m in messages}


# --- topics -----------------------------------------------------------------------------------


def test_create_topic_is_idempotent_and_lists_the_topic(transport: Transport) -> None:
    """Creating a topic twice returns False the second time and keeps its partition count."""
    name = unique("created")
    assert transport.create_topic(name, 3) is True
    assert transport.create_topic(name, 5) is False
    assert transport.topics()[name].partitions == 3
    assert transport.end_offsets(name) == {0: 0, 1: 0, 2: 0}
    assert transport.committed_offsets(unique("group"), name) == {}


@pytest.mark.parametrize("name", ["", "has space", "x" * 250, ".", "..", "居民", "a/b"])
def test_create_topic_rejects_names_kafka_rejects(transport: Transport, name: str) -> None:
    """Topic names follow Kafka's rule on every transport."""
    with pytest.raises(ConfigError, match="invalid topic name"):
        transport.create_topic(name, 1)


def test_create_topic_rejects_zero_partitions(transport: Transport) -> None:
    """A topic needs at least one partition."""
    with pytest.raises(ConfigError, match="at least 1 partition"):
        transport.create_topic(unique("empty"), 0)


def test_missing_topic_raises_topic_not_found(transport: Transport, topic: str) -> None:
    """Sending to, reading the offsets of, or subscribing to a topic never created raises TopicNotFound."""
    missing = unique("missing")
    with transport.producer() as producer:
        producer.send(missing, b"lost")  # reported by the flush, as every send failure is
        with pytest.raises(TopicNotFound, match=missing):
            producer.flush()
        assert producer.flush() == []
    with pytest.raises(TopicNotFound):
        transport.end_offsets(missing)
    with pytest.raises(TopicNotFound):
        transport.consumer(unique("group"), [topic, missing])
    assert missing not in transport.topics()  # nothing was auto-created


# --- producing --------------------------------------------------------------------------------


def test_keyed_messages_land_on_partition_for_key_and_keep_order(transport: Transport, topic: str) -> None:
    """A keyed message goes to partition_for(key, n), and each key's messages are read in send order."""
    keys = [b"110105194912310021", b"household-7", b"", b"\xff\x00", b"resident-42"]
    with transport.producer() as producer:
        for seq in range(6):
            for key in keys:
                producer.send(topic, b"%d" % seq, key=key)
        deliveries = producer.flush()
    assert [d.partition for d in deliveries] == [partition_for(k, 4) for k in keys] * 6
    with transport.consumer(unique("group"), [topic]) as consumer:
        records = read(consumer, 30)
    per_key: dict[bytes | None, list[int]] = defaultdict(list)
    for m in records:
        assert m.partition == partition_for(m.key or b"", 4)
        per_key[m.key].append(int(m.value or b""))
    assert per_key == {key: list(range(6)) for key in keys}


def test_flush_returns_deliveries_in_send_order_with_increasing_offsets(transport: Transport, topic: str) -> None:
    """Deliveries come back in send order, with consecutive offsets per partition across flushes."""
    with transport.producer() as producer:
        for i in range(30):
            producer.send(topic, b"%d" % i, partition=[0, 2, 2][i % 3])
        first = producer.flush()
        for i in range(5):
            producer.send(topic, b"%d" % i, partition=2)
        second = producer.flush()
        assert producer.flush() == []
    offsets: dict[int, list[int]] = defaultdict(list)
    for delivery in [*first, *second]:
        assert delivery.topic == topic
        offsets[delivery.partition].append(delivery.offset)
    assert offsets == {0: list(range(10)), 2: list(range(25))}
    assert [d.partition for d in first] == [[0, 2, 2][i % 3] for i in range(30)]
    # One flush is sent as record batches, whose end some brokers misreport; the transport must not.
    assert transport.end_offsets(topic) == {0: 10, 1: 0, 2: 25, 3: 0}


def test_headers_and_none_key_and_value_round_trip(transport: Transport, topic: str) -> None:
    """Headers (repeated names, empty or binary values), None keys and None or empty values read back exactly."""
    headers = [("trace", b"\x00\xff"), ("来源", b""), ("trace", b"second")]
    with transport.producer() as producer:
        producer.send(topic, None, key=b"k", headers=headers, partition=1)
        producer.send(topic, b"", key=b"k", partition=1)
        buffer = bytearray(b"payload")  # any bytes-like value is accepted, and copied
        producer.send(topic, buffer, key=None, partition=1)  # type: ignore[arg-type]
        buffer[:] = b"changed"
        producer.flush()
    with transport.consumer(unique("group"), [topic]) as consumer:
        tombstone, empty, unkeyed = read(consumer, 3)
    assert (tombstone.key, tombstone.value, tombstone.headers) == (b"k", None, headers)
    assert tombstone.header("trace") == b"second"
    assert (empty.key, empty.value, list(empty.headers)) == (b"k", b"", [])
    assert (unkeyed.key, unkeyed.value) == (None, b"payload")


def test_dead_letter_headers_round_trip_exactly(transport: Transport, topic: str) -> None:
    """A dead letter's error.* headers (reason, topic, partition, offset, timestamp) read back byte for byte."""
    source = Message("civil-affairs.residents", 3, 1234, b"110105194912310021", b"\x00bad", 1_700_000_000_123)
    letter = DeadLetter.for_message(source, reason="bad_magic_byte", detail="first byte 0x07", stage="decode")
    headers = letter.headers()
    assert {"error.reason", "error.topic", "error.partition", "error.offset", "error.timestamp"} <= dict(headers).keys()
    with transport.producer() as producer:
        producer.send(topic, letter.payload, key=source.key, headers=headers)
        producer.flush()
    with transport.consumer(unique("group"), [topic]) as consumer:
        (received,) = read(consumer, 1)
    assert received.headers == headers
    assert received.header("error.offset") == b"1234"
    restored = DeadLetter.from_record(letter.to_record(), received)
    assert (restored.source_partition, restored.source_offset, restored.source_timestamp_ms) == (
        3, 1234, 1_700_000_000_123,
    )


def test_send_rejects_text_payloads(transport: Transport, topic: str) -> None:
    """A str key, value or header value is refused at send rather than sent as something else."""
    with transport.producer() as producer:
        with pytest.raises(TypeError, match="value must be bytes"):
            producer.send(topic, "text")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="header"):
            producer.send(topic, b"v", headers=[("h", "text")])  # type: ignore[list-item]


# --- consumer groups --------------------------------------------------------------------------


def test_new_member_resumes_after_the_last_commit(opener: Opener) -> None:
    """After a member commits and closes, a new member of the group (on a new connection) resumes there."""
    first, group, name = opener(), unique("group"), unique("restart")
    first.create_topic(name, 1)
    produce(first, name, 10, [0])
    tp = TopicPartition(name, 0)
    with first.consumer(group, [name]) as consumer:
        assert consumer.committed(tp) is None
        assert [m.offset for m in read(consumer, 10)] == list(range(10))
        consumer.commit({tp: 6})  # as if only offsets 0-5 were processed
        assert consumer.committed(tp) == 6
    second = opener()
    assert second.committed_offsets(group, name) == {0: 6}
    with second.consumer(group, [name]) as consumer:
        resumed = read(consumer, 4) + drain([consumer])[0]
        assert [m.offset for m in resumed] == [6, 7, 8, 9]
        consumer.commit()  # the current positions
    assert second.committed_offsets(group, name) == {0: 10}


def test_two_members_share_the_partitions_and_read_each_message_once(transport: Transport, topic: str) -> None:
    """Two members of a group hold disjoint partitions and together read every message exactly once."""
    group = unique("group")
    with transport.consumer(group, [topic]) as first, transport.consumer(group, [topic]) as second:
        assert share([first, second], tps(topic, range(4))) == [[], []]
        produce(transport, topic, 10, range(4))
        got = poll_until([first, second], lambda got: sum(map(len, got)) >= 40, "40 messages")
        extra = drain([first, second])
        for consumer, messages, more in zip([first, second], got, extra, strict=True):
            assert {m.topic_partition for m in messages} == consumer.assignment()
            assert more == []
        assert where(got[0]).isdisjoint(where(got[1]))
        assert where(got[0]) | where(got[1]) == {(tp, o) for tp in tps(topic, range(4)) for o in range(10)}


def test_survivor_takes_over_partitions_from_the_committed_offsets(transport: Transport, topic: str) -> None:
    """When a member leaves, the other gets its partitions and resumes each from the group's commit."""
    group = unique("group")
    stays, leaves = transport.consumer(group, [topic]), transport.consumer(group, [topic])
    share([stays, leaves], tps(topic, range(4)))
    produce(transport, topic, 10, range(4))
    poll_until([stays, leaves], lambda got: sum(map(len, got)) >= 40, "40 messages")
    handed_over = leaves.assignment()
    stays.commit()  # everything it read
    leaves.commit({tp: 4 for tp in handed_over})  # as if it processed only offsets 0-3
    leaves.close()
    taken = assigned(stays, tps(topic, range(4)))
    taken += poll_until([stays], lambda got: len(taken) + len(got[0]) >= 12, "12 messages")[0]
    taken += drain([stays])[0]
    assert sorted(where(taken), key=str) == sorted(
        {(tp, offset) for tp in handed_over for offset in range(4, 10)}, key=str
    )
    assert len(taken) == 12
    stays.close()


def test_another_group_reads_everything_independently(transport: Transport, topic: str) -> None:
    """Each group has its own offsets: one group's commits do not move another's."""
    produce(transport, topic, 5, range(4))
    mediator, audit = unique("mediator"), unique("audit")
    with transport.consumer(mediator, [topic]) as consumer:
        assert len(read(consumer, 20)) == 20
        consumer.commit()
    with transport.consumer(audit, [topic]) as consumer:
        assert len(read(consumer, 20) + drain([consumer])[0]) == 20
    assert transport.committed_offsets(mediator, topic) == {0: 5, 1: 5, 2: 5, 3: 5}
    assert transport.committed_offsets(audit, topic) == {}


def test_commit_for_a_partition_another_member_holds_is_refused(transport: Transport, topic: str) -> None:
    """A member committing for a partition the group gave to another member gets TransportError."""
    group = unique("group")
    with transport.consumer(group, [topic]) as first, transport.consumer(group, [topic]) as second:
        share([first, second], tps(topic, range(4)))
        taken = sorted(second.assignment(), key=str)[0]
        with pytest.raises(TransportError):
            first.commit({taken: 1})
        mine = sorted(first.assignment(), key=str)[0]
        first.commit({mine: 0})
    assert transport.committed_offsets(group, topic) == {mine.partition: 0}


def test_commit_stores_the_given_offsets_and_committed_reads_them(transport: Transport, topic: str) -> None:
    """commit() stores exactly the offsets given; committed() and committed_offsets() read them back."""
    produce(transport, topic, 3, range(4))
    group = unique("group")
    with transport.consumer(group, [topic]) as consumer:
        assigned(consumer, tps(topic, range(4)))
        consumer.commit({TopicPartition(topic, 2): 2, TopicPartition(topic, 0): 1})
        assert consumer.committed(TopicPartition(topic, 2)) == 2
        assert consumer.committed(TopicPartition(topic, 3)) is None
    assert transport.committed_offsets(group, topic) == {0: 1, 2: 2}
    assert transport.end_offsets(topic) == {0: 3, 1: 3, 2: 3, 3: 3}


def test_closing_the_transport_makes_its_members_leave(opener: Opener) -> None:
    """Closing a transport makes its consumers leave, so another member takes their partitions."""
    other, first, group, name = opener(), opener(), unique("group"), unique("closing")
    other.create_topic(name, 2)
    forgotten = first.consumer(group, [name])
    assigned(forgotten, tps(name, [0, 1]))
    with other.consumer(group, [name]) as waiting:
        share([forgotten, waiting], tps(name, [0, 1]))
        first.close()
        assigned(waiting, tps(name, [0, 1]))


def test_consumer_wants_a_list_of_topics(transport: Transport, topic: str) -> None:
    """Passing one topic name as a string is refused rather than read as a list of letters."""
    with pytest.raises(ConfigError, match="list of topic names"):
        transport.consumer(unique("group"), topic)


# --- seeking ----------------------------------------------------------------------------------


def test_seek_replays_from_any_offset(transport: Transport, topic: str) -> None:
    """Seeking moves the next read, so a member can replay a partition from any offset or the start."""
    tp = TopicPartition(topic, 1)
    produce(transport, topic, 5, [1])
    with transport.consumer(unique("group"), [topic]) as consumer:
        assert [m.offset for m in read(consumer, 5)] == [0, 1, 2, 3, 4]
        assert consumer.position(tp) == 5
        consumer.seek(tp, 3)
        assert [m.offset for m in read(consumer, 2)] == [3, 4]
        consumer.seek_to_beginning(tp)
        assert [m.value for m in read(consumer, 5)] == [b"1:%d" % i for i in range(5)]
        with pytest.raises(ValueError, match=">= 0"):
            consumer.seek(tp, -1)


def test_seek_or_position_on_a_partition_not_assigned_raises(transport: Transport, topic: str) -> None:
    """A member cannot seek or ask the position of a partition it does not hold."""
    with transport.consumer(unique("group"), [topic]) as consumer:
        assigned(consumer, tps(topic, range(4)))
        with pytest.raises(TransportError, match="not assigned"):
            consumer.seek(TopicPartition(topic, 9), 0)
        with pytest.raises(TransportError, match="not assigned"):
            consumer.position(TopicPartition("other", 0))


def test_offsets_for_time_finds_the_first_message_at_or_after(transport: Transport, topic: str) -> None:
    """offsets_for_time gives the first offset whose timestamp is >= t (the end offset if none) to seek to."""
    tp = TopicPartition(topic, 0)
    base = time.time_ns() // 1_000_000 - 60_000
    with transport.producer() as producer:
        for delta in (1_000, 2_000, 1_500, 3_000):  # producers may send out of time order
            producer.send(topic, b"%d" % delta, partition=0, timestamp_ms=base + delta)
        producer.flush()
    with transport.consumer(unique("group"), [topic]) as consumer:
        assert [m.timestamp_ms - base for m in read(consumer, 4)] == [1_000, 2_000, 1_500, 3_000]
        assert consumer.offsets_for_time(tp, base) == 0
        assert consumer.offsets_for_time(tp, base + 1_200) == 1
        assert consumer.offsets_for_time(tp, base + 2_500) == 3
        assert consumer.offsets_for_time(tp, base + 9_999) == 4
        assert consumer.offsets_for_time(TopicPartition(topic, 3), base) == 0
        consumer.seek(tp, consumer.offsets_for_time(tp, base + 2_000))
        assert [m.value for m in read(consumer, 3)] == [b"2000", b"1500", b"3000"]


# --- Kafka only -------------------------------------------------------------------------------


@pytest.mark.parametrize("client", KAFKA_CLIENTS)
def test_unreachable_cluster_is_a_transport_error_within_the_timeouts(client: str) -> None:
    """A cluster nobody listens on gives a TransportError within the configured timeouts, not a hang."""
    options = KafkaOptions(
        bootstrap_servers=(f"127.0.0.1:{free_port()}",),
        connect_timeout_ms=1_000,
        request_timeout_ms=2_000,
        delivery_timeout_ms=3_000,
    )
    started = time.monotonic()
    # Either opening or the first request may be where a client notices.
    with pytest.raises(TransportError), kafka_transport(client, options) as transport:
        transport.topics()
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("client", KAFKA_CLIENTS)
def test_open_transport_opens_kafka_urls_with_the_chosen_client(client: str, kafka_broker: object) -> None:
    """open_transport builds the chosen client's transport from a kafka:// URL; describe() names no secret."""
    url = f"kafka://{kafka_broker.bootstrap}"  # type: ignore[attr-defined]
    with open_transport(url, kafka_client=client, kafka_options={"client_id": "contract"}) as transport:
        expected = "ConfluentTransport" if client == "confluent" else "KafkaTransport"
        assert type(transport).__name__ == expected
        description = transport.describe()
        assert kafka_broker.bootstrap in " ".join(description.values())  # type: ignore[attr-defined]
        assert not any("password" in key for key in description)
        name = unique("opened")
        assert transport.create_topic(name, 1)
        assert name in transport.topics()


def test_open_transport_refuses_an_unknown_kafka_client() -> None:
    """Only kafka-python and confluent are Kafka clients; anything else is a ConfigError."""
    with pytest.raises(ConfigError, match="unknown Kafka client 'aiokafka'"):
        open_transport("kafka://127.0.0.1:9092", kafka_client="aiokafka")
