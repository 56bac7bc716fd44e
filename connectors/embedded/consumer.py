"""Consuming from the embedded log as a member of a consumer group."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from connectors.base import NO_HEADERS, Consumer, Message, TopicPartition
from connectors.embedded.group import Membership, Slot
from connectors.embedded.store import TopicRow, connect, decode_headers, load_topics, sql_errors
from exchange.errors import TopicNotFound, TransportError

_FETCH = (
    "SELECT offset, key, value, headers, timestamp_ms FROM messages "
    "WHERE topic_id = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?"
)


class EmbeddedConsumer(Consumer):
    """A group member on its own connection; it heartbeats and rebalances inside :meth:`poll`.

    A member that neither polls nor commits for longer than ``session_timeout`` is taken for dead
    and its partitions move on; its later commits are refused.
    """

    def __init__(
        self,
        path: Path,
        busy_timeout: float,
        group: str,
        topics: Sequence[TopicRow],
        *,
        client_id: str | None,
        on_close: Callable[[EmbeddedConsumer], None],
        session_timeout: float,
        heartbeat_interval: float,
        poll_interval: float,
    ) -> None:
        self._conn = connect(path, busy_timeout)
        self._on_close = on_close
        self.group = group
        self.member_id = uuid.uuid4().hex
        self._topics = {t.name: t for t in topics}
        self._names = {t.id: t.name for t in topics}
        self._membership = Membership(
            self._conn, group, self.member_id, client_id, topics, int(session_timeout * 1000)
        )
        self._heartbeat_interval = heartbeat_interval
        self._poll_interval = poll_interval
        self._positions: dict[TopicPartition, int] = {}  # exactly the leased partitions
        self._next_sync = 0.0
        self._rotation = 0
        self._closed = False
        try:
            self._sync()  # join now, so a lone member can seek before its first poll
        except BaseException:
            self._conn.close()
            raise

    def _sync(self) -> None:
        held, taken = self._membership.sync()
        positions = {}
        for slot, committed in sorted(held.items()):
            tp = TopicPartition(self._names[slot[0]], slot[1])
            positions[tp] = committed if slot in taken else self._positions.get(tp, committed)
        self._positions = positions
        self._next_sync = time.monotonic() + self._heartbeat_interval

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        self._check_open()
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if time.monotonic() >= self._next_sync:
                self._sync()
            records = self._fetch(max_records)
            if records:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            time.sleep(min(self._poll_interval, remaining))

    def _fetch(self, max_records: int) -> list[Message]:
        """Read from the partitions that have news, an equal share each, starting at a rotating one."""
        if not self._positions:
            return []
        topic_ids = sorted({self._topics[tp.topic].id for tp in self._positions})
        with sql_errors("polling"):
            # One cheap look at the end offsets keeps an idle poll from touching the messages table.
            ends = {
                (topic_id, partition): end
                for topic_id, partition, end in self._conn.execute(
                    "SELECT topic_id, partition, next_offset FROM partitions "
                    f"WHERE topic_id IN ({','.join('?' * len(topic_ids))})",
                    topic_ids,
                )
            }
            ready = [tp for tp, pos in self._positions.items() if ends.get(self._slot(tp), 0) > pos]
            if not ready:
                return []
            self._rotation = (self._rotation + 1) % len(ready)
            ready = ready[self._rotation :] + ready[: self._rotation]
            share = -(-max_records // len(ready))
            records: list[Message] = []
            new = tuple.__new__
            for tp in ready:
                limit = min(share, max_records - len(records))
                if limit <= 0:
                    break
                topic_id, partition = self._slot(tp)
                start = self._positions[tp]
                rows = self._conn.execute(_FETCH, (topic_id, partition, start, limit)).fetchall()
                records += [  # tuple.__new__: Message's Python-level constructor costs more than the read
                    new(Message, (tp.topic, partition, offset, key, value, timestamp_ms,
                                  NO_HEADERS if headers is None else decode_headers(headers)))
                    for offset, key, value, headers, timestamp_ms in rows
                ]
                if rows:
                    self._positions[tp] = rows[-1][0] + 1
        return records

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        self._check_open()
        if offsets is None:
            offsets = dict(self._positions)
        if not offsets:
            return
        try:
            self._membership.commit({self._slot(tp): offset for tp, offset in offsets.items()})
        except TransportError:
            self._next_sync = 0.0  # learn at the next poll which partitions were lost
            raise

    def committed(self, tp: TopicPartition) -> int | None:
        self._check_open()
        topic_id, partition = self._slot(tp)
        with sql_errors(f"reading the committed offset of {tp}"):
            row = self._conn.execute(
                "SELECT committed_offset FROM group_offsets WHERE grp = ? AND topic_id = ? AND partition = ?",
                (self.group, topic_id, partition),
            ).fetchone()
        return None if row is None else row[0]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._assigned(tp)
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        self._positions[tp] = offset

    def position(self, tp: TopicPartition) -> int:
        self._assigned(tp)
        return self._positions[tp]

    def offsets_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        self._check_open()
        topic_id, partition = self._slot(tp)
        with sql_errors(f"looking up a time in {tp}"):
            # Producers may set any timestamp, so they are not monotonic: walk in offset order and stop
            # at the first match rather than keep a timestamp index that every produce would pay for.
            row = self._conn.execute(
                "SELECT offset FROM messages WHERE topic_id = ? AND partition = ? AND timestamp_ms >= ? "
                "ORDER BY offset LIMIT 1",
                (topic_id, partition, timestamp_ms),
            ).fetchone()
            if row is None:
                row = self._conn.execute(
                    "SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?",
                    (topic_id, partition),
                ).fetchone()
        if row is None:
            raise TopicNotFound(f"embedded bus: {tp.topic!r} has no partition {partition}")
        return int(row[0])

    def assignment(self) -> set[TopicPartition]:
        return set(self._positions)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._positions = {}
        try:
            self._membership.leave()
        finally:
            self._conn.close()
            self._on_close(self)

    def _slot(self, tp: TopicPartition) -> Slot:
        row = self._topics.get(tp.topic)
        if row is None:
            # Not subscribed, but committed() and offsets_for_time() may still ask about it.
            row = load_topics(self._conn).get(tp.topic)
            if row is None:
                raise TopicNotFound(f"embedded bus: topic {tp.topic!r} does not exist")
        return row.id, tp.partition

    def _assigned(self, tp: TopicPartition) -> None:
        self._check_open()
        if tp not in self._positions:
            raise TransportError(f"embedded bus: {tp} is not assigned to member {self.member_id}")

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("embedded bus: the consumer is closed")
