"""A consumer-group member on Kafka through kafka-python: manual commits, assignment tracked by a listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata
from kafka import TopicPartition as KafkaTopicPartition

from connectors.base import NO_HEADERS, Consumer, Message, TopicPartition
from connectors.kafka.kafka_python_errors import FENCED, kafka_errors_as_transport, reason
from exchange.errors import TransportError

if TYPE_CHECKING:
    from connectors.kafka.kafka_python import KafkaTransport

log = logging.getLogger(__name__)


def _kafka_tp(tp: TopicPartition) -> KafkaTopicPartition:
    return KafkaTopicPartition(tp.topic, tp.partition)


class _Assignment(ConsumerRebalanceListener):
    """Tracks which partitions the group gave this member. It never commits: the caller does."""

    def __init__(self) -> None:
        self.partitions: set[TopicPartition] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.partitions -= {TopicPartition(tp.topic, tp.partition) for tp in revoked}

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.partitions |= {TopicPartition(tp.topic, tp.partition) for tp in assigned}

    def on_partitions_lost(self, lost: Any) -> None:
        self.on_partitions_revoked(lost)


def keep_finished_join(client: KafkaConsumer) -> None:
    """Make kafka-python 3.0 use a JoinGroup/SyncGroup that finished between two polls.

    kafka-python 3.0.12 starts a new JoinGroup when it finds the previous attempt already done instead
    of taking its result; a join that completes while the caller is not inside ``poll`` (processing,
    or polling another consumer) is thrown away, and the member rejoins, which makes every other member
    rejoin too. Two members polled in turn took 4 to 40 s to settle; with this, 1 to 4 s. The finished
    attempt is handed back as a pending task, which ``join_group_async`` then awaits as usual.
    """
    coordinator = getattr(client, "_coordinator", None)
    original = getattr(coordinator, "join_group_async", None)
    if original is None or not hasattr(coordinator, "_join_task") or not hasattr(coordinator, "_manager"):
        log.warning("kafka-python internals changed; group joins may be slow (keep_finished_join not applied)")
        return

    async def join_group_async(timeout_ms: float | None = None) -> bool:
        finished = coordinator._join_task
        if finished is not None and finished.is_done:

            async def replay() -> Any:
                if finished.exception is not None:
                    raise finished.exception
                return finished.value

            coordinator._join_task = coordinator._manager.call_soon(replay)
        return bool(await original(timeout_ms=timeout_ms))

    coordinator.join_group_async = join_group_async


class KafkaPythonConsumer(Consumer):
    """A member of ``group``; partitions are assigned during :meth:`poll`, as on any Kafka client.

    Until the first poll that completes the join, :meth:`assignment` is empty.
    """

    def __init__(
        self,
        transport: KafkaTransport,
        client: KafkaConsumer,
        group: str,
        topics: list[str],
        on_close: Callable[[KafkaPythonConsumer], None],
    ) -> None:
        self._transport = transport
        self._client = client
        self.group = group
        self._servers = transport.options.bootstrap_servers
        self._timeout_ms = transport.options.request_timeout_ms
        self._on_close = on_close
        self._assignment = _Assignment()
        self._closed = False
        keep_finished_join(client)
        with self._errors("subscribing"):
            client.subscribe(topics, listener=self._assignment)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        self._check_open()
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records}")
        with self._errors("polling"):
            batches = self._client.poll(timeout_ms=max(int(timeout * 1000), 0), max_records=max_records)
        new = tuple.__new__  # skips Message's Python-level constructor
        return [
            new(Message, (
                record.topic,
                record.partition,
                record.offset,
                record.key,
                record.value,
                record.timestamp,
                # Kafka allows a null header value; the interface has bytes, and an empty one says the same.
                [(name, b"" if value is None else value) for name, value in record.headers]
                if record.headers else NO_HEADERS,
            ))
            for records in batches.values()
            for record in records
        ]

    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (or every position) for partitions this member holds; refused otherwise."""
        self._check_open()
        if offsets is None:
            offsets = {tp: self.position(tp) for tp in self._assignment.partitions}
        if not offsets:
            return
        lost = sorted((tp.topic, tp.partition) for tp in offsets if tp not in self._assignment.partitions)
        if lost:
            raise TransportError(
                f"kafka: member of group {self.group!r} does not hold {lost}; they were reassigned, commit refused"
            )
        for tp, offset in offsets.items():
            if not isinstance(offset, int) or offset < 0:
                raise ValueError(f"offset for {tp} must be an int >= 0, got {offset!r}")
        request = {_kafka_tp(tp): OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
        with self._errors("committing"):
            try:
                self._client.commit(request, timeout_ms=self._timeout_ms)
            except FENCED as exc:
                raise TransportError(
                    f"kafka: commit for group {self.group!r} refused, the group moved on (partitions may "
                    f"have been reassigned): {reason(exc)}"
                ) from exc

    def committed(self, tp: TopicPartition) -> int | None:
        self._check_open()
        with self._errors(f"reading the committed offset of {tp}"):
            offset = self._client.committed(_kafka_tp(tp), timeout_ms=self._timeout_ms)
        return None if offset is None or offset < 0 else int(offset)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._assigned(tp)
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset!r}")
        with self._errors(f"seeking {tp}"):
            self._client.seek(_kafka_tp(tp), offset)

    def seek_to_beginning(self, tp: TopicPartition) -> None:
        """The first offset still kept, which is not 0 once retention has deleted old messages."""
        self._assigned(tp)
        with self._errors(f"seeking {tp} to its beginning"):
            self._client.seek_to_beginning(_kafka_tp(tp))

    def position(self, tp: TopicPartition) -> int:
        self._assigned(tp)
        with self._errors(f"reading the position of {tp}"):
            position = self._client.position(_kafka_tp(tp), timeout_ms=self._timeout_ms)
        if position is None:
            raise TransportError(f"kafka: no position for {tp} within {self._timeout_ms} ms")
        return int(position)

    def offsets_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        self._check_open()
        return self._transport.offset_for_time(tp, timestamp_ms)

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment.partitions)

    def close(self) -> None:
        """Leave the group at once (LeaveGroup), so the others take the partitions without waiting."""
        if self._closed:
            return
        self._closed = True
        self._assignment.partitions = set()
        try:
            with self._errors("leaving the group"):
                self._client.close(autocommit=False, timeout_ms=self._timeout_ms)
        finally:
            self._on_close(self)

    def _assigned(self, tp: TopicPartition) -> None:
        self._check_open()
        if tp not in self._assignment.partitions:
            raise TransportError(f"kafka: {tp} is not assigned to this member of group {self.group!r}")

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("kafka: the consumer is closed")

    def _errors(self, doing: str) -> Any:
        return kafka_errors_as_transport(f"group {self.group!r}: {doing}", self._servers)
