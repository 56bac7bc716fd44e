"""The embedded SQLite log: what only it does (atomic flushes, leases, one file shared by processes).

What every transport does is tested once for all of them in ``test_transport_contract.py``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import open_transport
from connectors.base import Consumer, Message, TopicPartition, partition_for
from connectors.embedded import EmbeddedTransport
from exchange.errors import DeliveryError, TopicNotFound, TransportError

REPO = Path(__file__).resolve().parents[2]
TOPIC = "civil-affairs.residents"


def open_log(path: Path, *, session_timeout: float = 10.0, busy_timeout: float = 30.0) -> EmbeddedTransport:
    # Syncing on every poll and polling the file every 5 ms keeps group hand-overs quick in tests.
    return EmbeddedTransport(
        path,
        session_timeout=session_timeout,
        busy_timeout=busy_timeout,
        heartbeat_interval=0.0,
        poll_interval=0.005,
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EmbeddedTransport]:
    transport = open_log(tmp_path / "bus.db")
    transport.create_topic(TOPIC, 4)
    yield transport
    transport.close()


def produce(log: EmbeddedTransport, count: int, topic: str = TOPIC) -> None:
    with log.producer() as producer:
        for i in range(count):
            producer.send(topic, b"value-%d" % i, key=b"key-%d" % i)
        producer.flush()


def read_all(consumer: Consumer, max_records: int = 500) -> list[Message]:
    """Poll until a poll comes back empty."""
    records: list[Message] = []
    while batch := consumer.poll(max_records=max_records, timeout=0):
        records += batch
    return records


def tps(topic: str, partitions: range | list[int]) -> set[TopicPartition]:
    return {TopicPartition(topic, p) for p in partitions}


# --- topics -----------------------------------------------------------------------------------


def test_create_topic_reports_existing_and_lists_topics(log: EmbeddedTransport) -> None:
    """Creating a topic twice returns False the second time and the partition count is kept."""
    assert log.create_topic(TOPIC, 8) is False
    assert log.create_topic("health.deaths") is True  # default_partitions
    assert {name: info.partitions for name, info in log.topics().items()} == {TOPIC: 4, "health.deaths": 4}
    assert log.end_offsets(TOPIC) == {0: 0, 1: 0, 2: 0, 3: 0}


def test_open_transport_creates_file_and_parent_folders(tmp_path: Path) -> None:
    """An embedded:/// URL opens the log, creating missing folders, in WAL mode."""
    path = tmp_path / "deep" / "er" / "bus.db"
    with open_transport(f"embedded:///{path}") as transport:
        assert transport.create_topic("t", 2)
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# --- producing --------------------------------------------------------------------------------


def test_unkeyed_messages_spread_round_robin(log: EmbeddedTransport) -> None:
    """Unkeyed messages are spread evenly over the partitions."""
    with log.producer() as producer:
        for _ in range(8):
            producer.send(TOPIC, b"v")
        producer.flush()
    assert log.end_offsets(TOPIC) == {0: 2, 1: 2, 2: 2, 3: 2}


def test_flush_to_missing_topic_raises_and_discards_the_batch(log: EmbeddedTransport) -> None:
    """A flush naming an uncreated topic raises TopicNotFound, writes nothing and empties the buffer."""
    with log.producer() as producer:
        producer.send(TOPIC, b"fine")
        producer.send("no.such.topic", b"lost")
        with pytest.raises(TopicNotFound, match=r"no\.such\.topic"):
            producer.flush()
        assert producer.flush() == []
    assert sum(log.end_offsets(TOPIC).values()) == 0
    with pytest.raises(TopicNotFound):
        log.end_offsets("no.such.topic")
    with pytest.raises(TopicNotFound):
        log.consumer("g", ["no.such.topic"])


def test_flush_to_missing_partition_raises_delivery_error(log: EmbeddedTransport) -> None:
    """An explicit partition beyond the topic's count fails the flush."""
    with log.producer() as producer:
        producer.send(TOPIC, b"v", partition=4)
        with pytest.raises(DeliveryError, match="no partition 4"):
            producer.flush()


def test_flush_failing_midway_leaves_none_of_the_batch(log: EmbeddedTransport) -> None:
    """When a flush fails after writing part of its batch, none of the batch becomes visible."""
    with closing(sqlite3.connect(log.path, isolation_level=None)) as raw:
        # A stray row at offset 3 makes the fourth insert of the next flush collide.
        raw.execute("INSERT INTO messages (topic_id, partition, offset, timestamp_ms) VALUES (1, 0, 3, 0)")
        with log.producer() as producer:
            for _ in range(6):
                producer.send(TOPIC, b"v", partition=0)
            with pytest.raises(DeliveryError, match="UNIQUE"):
                producer.flush()
        assert raw.execute("SELECT count(*) FROM messages").fetchone() == (1,)
    assert log.end_offsets(TOPIC)[0] == 0


def test_flush_blocked_past_busy_timeout_delivers_nothing(tmp_path: Path) -> None:
    """A flush that cannot get the write lock in time raises DeliveryError, and a retry succeeds."""
    with open_log(tmp_path / "bus.db", busy_timeout=0.05) as log:
        log.create_topic(TOPIC, 1)
        holder = sqlite3.connect(log.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with log.producer() as producer:
            producer.send(TOPIC, b"v")
            with pytest.raises(DeliveryError, match="locked"):
                producer.flush()
            holder.execute("ROLLBACK")
            holder.close()
            producer.send(TOPIC, b"v")
            assert [d.offset for d in producer.flush()] == [0]


def test_timestamps_default_to_now_and_keep_given_ones(log: EmbeddedTransport) -> None:
    """A message without a timestamp gets the send time in ms; a given one is kept."""
    before = time.time_ns() // 1_000_000
    with log.producer() as producer:
        producer.send(TOPIC, b"now", partition=0)
        producer.send(TOPIC, b"then", partition=0, timestamp_ms=1_000)
        producer.flush()
    after = time.time_ns() // 1_000_000
    with log.consumer("g", [TOPIC]) as consumer:
        now, then = read_all(consumer)
    assert before <= now.timestamp_ms <= after
    assert then.timestamp_ms == 1_000


# --- consuming --------------------------------------------------------------------------------


def test_order_is_preserved_per_partition(log: EmbeddedTransport) -> None:
    """Within a partition messages are read in offset order, and each key's messages in send order."""
    with log.producer() as producer:
        for seq in range(200):
            producer.send(TOPIC, b"%d" % seq, key=b"resident-%d" % (seq % 7))
            if seq % 30 == 0:
                producer.flush()
        producer.flush()
    with log.consumer("g", [TOPIC]) as consumer:
        records = read_all(consumer, max_records=13)
    assert len(records) == 200
    offsets: dict[int, list[int]] = defaultdict(list)
    per_key: dict[bytes | None, list[int]] = defaultdict(list)
    for m in records:
        offsets[m.partition].append(m.offset)
        per_key[m.key].append(int(m.value or b""))
        assert m.partition == partition_for(m.key or b"", 4)
    assert all(seen == list(range(len(seen))) for seen in offsets.values())
    assert all(seqs == sorted(seqs) for seqs in per_key.values())


def test_poll_is_fair_across_partitions(log: EmbeddedTransport) -> None:
    """A poll with a small budget takes an equal share from every partition that has data."""
    with log.producer() as producer:
        for i in range(400):
            producer.send(TOPIC, b"v", partition=i % 4)
        producer.flush()
    with log.consumer("g", [TOPIC]) as consumer:
        batch = consumer.poll(max_records=40, timeout=0)
    assert sorted(m.partition for m in batch) == [p for p in range(4) for _ in range(10)]


def test_poll_waits_for_new_data_and_returns_empty_when_idle(log: EmbeddedTransport) -> None:
    """An idle poll returns [] after its timeout; a waiting poll returns as soon as a message arrives."""
    with log.consumer("g", [TOPIC]) as consumer:
        started = time.monotonic()
        assert consumer.poll(timeout=0.05) == []
        assert 0.05 <= time.monotonic() - started < 2

        sender = threading.Timer(0.1, produce, args=(log, 1))
        sender.start()
        started = time.monotonic()
        batch = consumer.poll(timeout=5)
        waited = time.monotonic() - started
        sender.join()
    assert [m.value for m in batch] == [b"value-0"]
    assert 0.05 < waited < 2


def test_committed_offsets_survive_a_restart(tmp_path: Path) -> None:
    """After closing and reopening the file, a new member resumes right after the group's last commit."""
    path = tmp_path / "bus.db"
    with open_log(path) as log:
        log.create_topic("one", 1)
        produce(log, 10, topic="one")
        consumer = log.consumer("g", ["one"])
        assert consumer.committed(TopicPartition("one", 0)) is None
        first = consumer.poll(max_records=6, timeout=0)
        consumer.commit()
        assert [m.offset for m in first] == list(range(6))
    with open_log(path) as log:
        assert log.committed_offsets("g", "one") == {0: 6}
        with log.consumer("g", ["one"]) as consumer:
            assert consumer.position(TopicPartition("one", 0)) == 6
            assert [m.offset for m in read_all(consumer)] == [6, 7, 8, 9]


def test_two_members_split_partitions_and_take_over_on_close(log: EmbeddedTransport) -> None:
    """Two members of a group read disjoint partitions; when one leaves the other resumes from its commits."""
    with log.producer() as producer:
        for i in range(40):
            producer.send(TOPIC, b"%d" % i, partition=i % 4)
        producer.flush()
    first, second = log.consumer("g", [TOPIC]), log.consumer("g", [TOPIC])
    # The first member leased everything when it joined alone; its first poll hands half over.
    read_first, read_second = read_all(first), read_all(second)
    assert len(first.assignment()) == len(second.assignment()) == 2
    assert first.assignment() | second.assignment() == tps(TOPIC, range(4))
    assert {m.topic_partition for m in read_first} == first.assignment()
    assert {m.topic_partition for m in read_second} == second.assignment()
    assert len(read_first) + len(read_second) == 40

    handed_over = second.assignment()
    second.commit({tp: 4 for tp in handed_over})  # as if it processed only offsets 0-3
    second.close()
    taken = read_all(first)
    assert first.assignment() == tps(TOPIC, range(4))
    resumed = {(tp, offset) for tp in handed_over for offset in range(4, 10)}
    assert {(m.topic_partition, m.offset) for m in taken} == resumed
    first.close()


def test_members_with_different_subscriptions_share_only_common_topics(log: EmbeddedTransport) -> None:
    """A topic only one member subscribes to goes wholly to that member."""
    log.create_topic("health.deaths", 2)
    narrow = log.consumer("g", [TOPIC])
    wide = log.consumer("g", [TOPIC, "health.deaths"])
    narrow.poll(timeout=0)
    wide.poll(timeout=0)
    assert tps("health.deaths", [0, 1]) <= wide.assignment()
    assert len(narrow.assignment()) == 2
    assert narrow.assignment() | (wide.assignment() - tps("health.deaths", [0, 1])) == tps(TOPIC, range(4))
    narrow.close()
    wide.close()


def test_commit_by_a_member_that_lost_its_lease_is_refused(tmp_path: Path) -> None:
    """A member silent past its session timeout loses its partitions, and its late commit raises."""
    path = tmp_path / "bus.db"
    with open_log(path, session_timeout=0.2) as slow_log, open_log(path) as log:
        log.create_topic("one", 1)
        produce(log, 3, topic="one")
        zombie = slow_log.consumer("g", ["one"])
        assert len(read_all(zombie)) == 3
        time.sleep(0.25)  # the zombie stops polling past its 0.2 s session
        with log.consumer("g", ["one"]) as survivor:
            assert survivor.assignment() == {TopicPartition("one", 0)}
            with pytest.raises(TransportError, match="commit refused"):
                zombie.commit()
            assert log.committed_offsets("g", "one") == {}
            assert [m.offset for m in read_all(survivor)] == [0, 1, 2]
            survivor.commit()
            zombie.poll(timeout=0)  # rejoins, and finds the partition leased by the survivor
            assert zombie.assignment() == set()
            assert log.committed_offsets("g", "one") == {0: 3}
        zombie.close()


def test_delete_group_is_refused_while_members_live(log: EmbeddedTransport) -> None:
    """delete_group refuses a group with live members and otherwise forgets its offsets."""
    consumer = log.consumer("g", [TOPIC])
    consumer.commit({TopicPartition(TOPIC, 0): 1})
    with pytest.raises(TransportError, match="live members"):
        log.delete_group("g")
    consumer.close()
    log.delete_group("g")
    assert log.committed_offsets("g", TOPIC) == {}


# --- sharing the file between processes -------------------------------------------------------

PRODUCER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from connectors.embedded import EmbeddedTransport

    path, name, ready, go = sys.argv[1:5]
    transport = EmbeddedTransport(path)
    producer = transport.producer()
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.002)
    for batch in range(40):
        for i in range(50):
            seq = batch * 50 + i
            producer.send("shared", f"{name}:{seq}".encode(), key=str(seq % 11).encode())
        producer.flush()
        time.sleep(0.002)  # SQLite's lock is not fair: a pause lets the other process's flush in
    transport.close()
    """
)


def test_two_processes_producing_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """Two OS processes flushing into one file at the same time get distinct offsets and lose no message."""
    path = tmp_path / "bus.db"
    with open_log(path) as log:
        log.create_topic("shared", 3)
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", PRODUCER_SCRIPT, str(path), name, str(tmp_path / name), str(go)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 30
    while not all((tmp_path / name).exists() for name in ("a", "b")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # both are connected: start them together so their flushes interleave
    assert [child.wait(timeout=60) for child in children] == [0, 0]

    with open_log(path) as log, log.consumer("check", ["shared"]) as consumer:
        records = read_all(consumer, max_records=1000)
        assert sum(log.end_offsets("shared").values()) == 4000
    values = [(m.value or b"").decode() for m in records]
    assert sorted(values) == sorted(f"{name}:{seq}" for name in "ab" for seq in range(2000))
    by_partition: dict[int, list[Message]] = defaultdict(list)
    for m in records:
        by_partition[m.partition].append(m)
    for messages in by_partition.values():
        assert [m.offset for m in messages] == list(range(len(messages)))
        for name in "ab":  # each process's messages keep their send order within a partition
            seqs = [int(v[2:]) for v in (m.value.decode() for m in messages if m.value) if v[0] == name]
            assert seqs == sorted(seqs)


# --- property ---------------------------------------------------------------------------------

sends = st.lists(
    st.tuples(st.binary(max_size=6), st.one_of(st.none(), st.binary(max_size=40)), st.booleans()),
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(sends=sends, partitions=st.integers(min_value=1, max_value=5))
def test_any_keyed_sends_read_back_identically_per_partition(
    sends: list[tuple[bytes, bytes | None, bool]], partitions: int
) -> None:
    """Whatever keyed messages are sent, in whatever flushes, each partition reads back its sends in order."""
    with tempfile.TemporaryDirectory() as folder, open_log(Path(folder) / "bus.db") as log:
        log.create_topic("p", partitions)
        deliveries = []
        with log.producer() as producer:
            for key, value, flush_after in sends:
                producer.send("p", value, key=key)
                if flush_after:
                    deliveries += producer.flush()
            deliveries += producer.flush()
        with log.consumer("g", ["p"]) as consumer:
            records = read_all(consumer, max_records=7)
    expected: dict[int, list[tuple[int, bytes | None, bytes | None]]] = defaultdict(list)
    for delivery, (key, value, _) in zip(deliveries, sends, strict=True):
        assert delivery.partition == partition_for(key, partitions)
        expected[delivery.partition].append((delivery.offset, key, value))
    got: dict[int, list[tuple[int, bytes | None, bytes | None]]] = defaultdict(list)
    for m in records:
        got[m.partition].append((m.offset, m.key, m.value))
    assert got == expected
