"""Producing to the embedded log: buffer in memory, write each flush as one transaction."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from connectors.base import Delivery, Headers, Producer, partition_for
from connectors.embedded.store import TopicRow, connect, encode_headers, load_topics, now_ms, transaction
from exchange.errors import DeliveryError, TopicNotFound, TransportError

# (topic, key, value, encoded headers, partition or None, timestamp_ms)
_Pending = tuple[str, bytes | None, bytes | None, bytes | None, int | None, int]

_INSERT = (
    "INSERT INTO messages (topic_id, partition, offset, key, value, headers, timestamp_ms) "
    "VALUES (?,?,?,?,?,?,?)"
)
_RESERVE = (
    "UPDATE partitions SET next_offset = next_offset + ? WHERE topic_id = ? AND partition = ? "
    "RETURNING next_offset - ?"
)


def _as_bytes(data: object, what: str) -> bytes | None:
    if data is None or type(data) is bytes:
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)  # a copy, so a caller reusing its buffer cannot change a buffered message
    raise TypeError(f"message {what} must be bytes or None, not {type(data).__name__}")


class EmbeddedProducer(Producer):
    """A producer on its own connection; a flush is atomic: every buffered message lands or none does."""

    def __init__(self, path: Path, busy_timeout: float, on_close: Callable[[EmbeddedProducer], None]) -> None:
        self._conn = connect(path, busy_timeout)
        self._on_close = on_close
        self._topics: dict[str, TopicRow] = {}
        self._buffer: list[_Pending] = []
        self._next_unkeyed: dict[str, int] = {}
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
        if self._closed:
            raise TransportError("embedded bus: send on a closed producer")
        self._buffer.append(
            (
                topic,
                _as_bytes(key, "key"),
                _as_bytes(value, "value"),
                encode_headers(headers),
                partition,
                now_ms() if timestamp_ms is None else timestamp_ms,
            )
        )

    def flush(self) -> list[Delivery]:
        """Write every buffered message in one transaction; the buffer is emptied whatever happens.

        Raises :class:`TopicNotFound` for a topic that was never created and :class:`DeliveryError`
        for anything else; either way none of the batch is visible and the caller resends it.
        """
        if self._closed:
            raise TransportError("embedded bus: flush on a closed producer")
        batch, self._buffer = self._buffer, []
        if not batch:
            return []
        placed = self._place(batch)
        counts = Counter(placed)
        with transaction(self._conn, f"flush of {len(batch)} messages", DeliveryError) as conn:
            next_offset: dict[tuple[int, int], int] = {}
            for (topic_id, partition), count in counts.items():
                reserved = conn.execute(_RESERVE, (count, topic_id, partition, count)).fetchall()
                if not reserved:
                    raise DeliveryError(f"embedded bus: topic id {topic_id} has no partition {partition}")
                next_offset[topic_id, partition] = reserved[0][0]
            rows = []
            deliveries = []
            for (topic, key, value, headers, _, timestamp_ms), where in zip(batch, placed, strict=True):
                offset = next_offset[where]
                next_offset[where] = offset + 1
                rows.append((where[0], where[1], offset, key, value, headers, timestamp_ms))
                deliveries.append(Delivery(topic, where[1], offset))
            conn.executemany(_INSERT, rows)
        return deliveries

    def _place(self, batch: list[_Pending]) -> list[tuple[int, int]]:
        """The (topic id, partition) each message goes to, in batch order."""
        placed = []
        for topic, key, _, _, partition, _ in batch:
            row = self._topic(topic)
            if partition is None:
                if key is not None:
                    partition = partition_for(key, row.partitions)
                else:
                    # Round-robin, starting at a random partition so short-lived producers spread out.
                    start = self._next_unkeyed.get(topic)
                    partition = random.randrange(row.partitions) if start is None else start
                    self._next_unkeyed[topic] = (partition + 1) % row.partitions
            elif not 0 <= partition < row.partitions:
                raise DeliveryError(f"embedded bus: topic {topic!r} has no partition {partition}")
            placed.append((row.id, partition))
        return placed

    def _topic(self, name: str) -> TopicRow:
        row = self._topics.get(name)
        if row is None:
            # Topics are never altered once created, so a cached row stays true; reload only on a miss.
            self._topics = load_topics(self._conn)
            row = self._topics.get(name)
            if row is None:
                raise TopicNotFound(f"embedded bus: topic {name!r} does not exist")
        return row

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._buffer = []
            self._conn.close()
            self._on_close(self)
