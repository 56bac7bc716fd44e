"""One confluent producer's sends between flushes, and librdkafka's delivery reports on them.

librdkafka calls back once per message. Noting each report against its message (a callback object per
message) costs more than the rest of our send path together, so a batch has one callback: it notes
where each acknowledged message landed, in the order the reports come. Which send each report answers
is worked out afterwards, and only when somebody asks (a flush's deliveries, a resend after the
producer was replaced): an idempotent producer reports a partition's messages in the order they were
sent, so the n-th report from a partition answers the n-th send to it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from typing import Any, overload

import confluent_kafka
from confluent_kafka import KafkaError

from connectors.base import Delivery
from connectors.partitioner import partition_for
from exchange.errors import TransportError

__all__ = ["LazyDeliveries", "SendBatch"]


class SendBatch:
    """The sends since the last flush, and librdkafka's reports on them (``report`` is the delivery callback).

    Only untracked objects (str, bytes, int) are kept per message, in parallel lists: holding on to
    10,000 tuples or librdkafka message objects per flush costs the garbage collector more than the
    whole send path.
    """

    __slots__ = ("acked_offsets", "acked_partitions", "acked_topics", "extras", "failed", "keys", "ready_topics",
                 "refused", "report", "topics", "values")

    def __init__(self) -> None:
        # Handed (or being handed) to librdkafka, in send order; ``extras`` holds produce()'s keyword
        # arguments by index, for the few messages that have any ("partition" for every message without
        # a key: librdkafka would place those at random, so the producer picks and notes their partition).
        self.topics: list[str] = []
        self.keys: list[bytes | None] = []
        self.values: list[bytes | None] = []
        self.extras: dict[int, dict[str, Any]] = {}
        # Topics the producer has checked for this batch: their sends may take its hot path.
        self.ready_topics: set[str] = set()
        # Acknowledged, in report order.
        self.acked_topics: list[str] = []
        self.acked_partitions: list[int] = []
        self.acked_offsets: list[int] = []
        self.failed: list[KafkaError] = []  # reported failures, and produce() calls that raised
        self.refused: list[Exception] = []  # never handed over: a missing topic or partition
        topic, partition, offset, failed = (self.acked_topics.append, self.acked_partitions.append,
                                            self.acked_offsets.append, self.failed.append)

        def report(error: KafkaError | None, message: confluent_kafka.Message) -> None:
            if error is None:
                topic(message.topic())
                partition(message.partition())
                offset(message.offset())
            else:
                failed(error)

        self.report = report

    def __len__(self) -> int:
        return len(self.topics) + len(self.refused)

    def add(self, topic: str, value: bytes | None, key: bytes | None, extra: dict[str, Any]) -> int:
        """Note one send; its index."""
        index = len(self.topics)
        self.topics.append(topic)
        self.keys.append(key)
        self.values.append(value)
        if extra:
            self.extras[index] = extra
        return index

    def message(self, index: int) -> tuple[str, bytes | None, bytes | None, dict[str, Any]]:
        """Send ``index`` as produce() takes it: topic, value, key and keyword arguments."""
        return self.topics[index], self.values[index], self.keys[index], self.extras.get(index, {})

    def carried_over(self, partitions: dict[str, int]) -> tuple[SendBatch, list[int]]:
        """A new batch with the same sends and the acknowledgements so far, and the indices of the sends
        still unacknowledged (to resend through a new producer; the old one's late reports go to this batch)."""
        new = SendBatch()
        new.topics, new.keys, new.values, new.extras, new.refused = (
            self.topics, self.keys, self.values, self.extras, self.refused)
        unacknowledged = []
        for index, delivery in enumerate(self.answers(partitions)):
            if delivery is None:
                unacknowledged.append(index)
            else:
                new.acked_topics.append(delivery.topic)
                new.acked_partitions.append(delivery.partition)
                new.acked_offsets.append(delivery.offset)
        return new, unacknowledged

    def outstanding(self) -> bool:
        """Whether some message handed to librdkafka has no report yet."""
        return len(self.acked_offsets) + len(self.failed) < len(self.topics)

    def answers(self, partitions: dict[str, int]) -> list[Delivery | None]:
        """For each send, in send order, where it landed, or None if no report says so yet.

        ``partitions`` gives each topic's partition count, to place keyed sends as librdkafka's murmur2
        partitioner did. An idempotent producer reports a partition's messages in send order, so the n-th
        report from a partition answers the n-th send to it. Raises TransportError for a report that
        answers no send: a broken ordering promise must not pass as a delivery.
        """
        reports: defaultdict[tuple[str, int], deque[int]] = defaultdict(deque)
        for topic, partition, offset in zip(self.acked_topics, self.acked_partitions, self.acked_offsets,
                                            strict=True):
            reports[topic, partition].append(offset)
        answers: list[Delivery | None] = []
        for index, (topic, key) in enumerate(zip(self.topics, self.keys, strict=True)):
            partition = self.extras.get(index, {}).get("partition")
            if partition is None:
                partition = partition_for(key or b"", partitions[topic])
            queue = reports.get((topic, partition))
            answers.append(Delivery(topic, partition, queue.popleft()) if queue else None)
        left = sum(len(queue) for queue in reports.values())
        if left:
            raise TransportError(f"kafka: {left} delivery reports answer no send of this producer")
        return answers


class LazyDeliveries(Sequence[Delivery]):
    """A flush's deliveries in send order, worked out from the reports on first use (most callers only
    need to know that flush returned)."""

    def __init__(self, batch: SendBatch, partitions: dict[str, int]) -> None:
        self._batch: SendBatch | None = batch
        self._partitions = partitions
        self._count = len(batch.topics)
        self._deliveries: list[Delivery] | None = None

    def _resolved(self) -> list[Delivery]:
        if self._deliveries is None:
            assert self._batch is not None
            answers = self._batch.answers(self._partitions)
            if any(answer is None for answer in answers):
                raise TransportError("kafka: a flushed message has no delivery report")
            self._deliveries = answers  # type: ignore[assignment]
            self._batch = None
        return self._deliveries  # type: ignore[return-value]

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Delivery: ...

    @overload
    def __getitem__(self, index: slice) -> list[Delivery]: ...

    def __getitem__(self, index: int | slice) -> Delivery | list[Delivery]:
        return self._resolved()[index]

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self._resolved())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == self._count and list(other) == self._resolved()

    __hash__ = None  # type: ignore[assignment]  # a sequence compared by content, like list

    def __repr__(self) -> str:
        return f"LazyDeliveries({self._resolved()!r})"
