"""The bus transport interface: partitioned topics, keyed produce, consumer groups with committed offsets.

Two implementations live beside this file: the embedded SQLite log (`connectors.embedded`) and Kafka
(`connectors.kafka`, see issue 4). Everything above the transport (adapters, the mediator, the CLI)
talks only to these classes, so the same code runs on one machine and on a cluster.

Offsets follow Kafka's convention: a committed offset is the offset of the *next* message to read.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from connectors.partitioner import partition_for
from exchange.errors import ConfigError

_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")  # Kafka's rule, so topic names carry over to a cluster

Headers = Sequence[tuple[str, bytes]]  # a list, or NO_HEADERS when a message has none
NO_HEADERS: Headers = ()  # shared by every message without headers: one object less per record


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    partitions: int


class Message(NamedTuple):
    """One message read from the bus.

    A named tuple: consumers build one per record on their hot path, and a tuple is the cheapest
    immutable record CPython has (``tuple.__new__(Message, fields)`` skips even the Python-level
    constructor).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: Headers = NO_HEADERS

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> bytes | None:
        """The last header called ``name``, or None."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return None


@dataclass(slots=True)  # not frozen: one is built per acknowledged message (see Message)
class Delivery:
    """Where an acknowledged message landed (treat as read-only)."""

    topic: str
    partition: int
    offset: int


class Producer(ABC):
    """Buffers messages and delivers them on :meth:`flush`.

    A caller that must not lose data (an adapter advancing its watermark) calls ``flush()`` and only
    proceeds if it returns: ``flush`` raises :class:`~exchange.errors.DeliveryError` when any buffered
    message was not acknowledged, and then none of the buffered messages may be assumed delivered.
    """

    @abstractmethod
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
        """Buffer one message; keyed messages go to ``partition_for(key)`` unless ``partition`` is given."""

    @abstractmethod
    def flush(self) -> Sequence[Delivery]:
        """Deliver everything buffered; return where each message landed, in send order."""

    def close(self) -> None:  # noqa: B027 - optional lifecycle hook
        """Release resources; buffered messages not yet flushed are discarded."""

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Consumer(ABC):
    """A member of a consumer group, reading the partitions the group assigns to it.

    ``poll`` starts each newly assigned partition at the group's committed offset (or at the
    beginning when the group has none, ``auto_offset_reset="earliest"``). Nothing is committed
    implicitly: the caller commits after it has durably processed what it read.
    """

    @abstractmethod
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        """Return up to ``max_records`` messages, waiting at most ``timeout`` seconds for the first."""

    @abstractmethod
    def commit(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (next offset to read) for the group, or the current positions if None."""

    @abstractmethod
    def committed(self, tp: TopicPartition) -> int | None:
        """The group's committed offset for ``tp``, or None."""

    @abstractmethod
    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Make the next poll of ``tp`` start at ``offset``."""

    @abstractmethod
    def offsets_for_time(self, tp: TopicPartition, timestamp_ms: int) -> int:
        """The earliest offset whose timestamp is >= ``timestamp_ms`` (the end offset if none)."""

    @abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """The partitions currently assigned to this member."""

    @abstractmethod
    def position(self, tp: TopicPartition) -> int:
        """The offset of the next message this member will read from ``tp``."""

    def seek_to_beginning(self, tp: TopicPartition) -> None:
        self.seek(tp, 0)

    @abstractmethod
    def close(self) -> None:
        """Leave the group (its partitions are reassigned to other members)."""

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport(ABC):
    """A message bus: topics, producers and consumer groups."""

    @abstractmethod
    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        replication_factor: int = 1,
        config: dict[str, str] | None = None,
    ) -> bool:
        """Create ``name`` with ``partitions`` partitions; return False if it already existed.

        ``replication_factor`` and ``config`` (Kafka topic configs such as ``retention.ms``) apply
        where the transport has them; the embedded log keeps every message and has one copy.
        """

    @abstractmethod
    def topics(self) -> dict[str, TopicInfo]:
        """Every topic on the bus."""

    @abstractmethod
    def producer(self) -> Producer:
        """A new producer."""

    @abstractmethod
    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer:
        """A new member of ``group`` subscribed to ``topics``."""

    @abstractmethod
    def end_offsets(self, topic: str) -> dict[int, int]:
        """Per partition, the offset the next produced message will get."""

    @abstractmethod
    def committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        """Per partition, ``group``'s committed offset (partitions without a commit are absent)."""

    def ensure_topics(self, topics: Iterable[tuple[str, int]]) -> None:
        """Create each ``(name, partitions)`` that does not exist yet."""
        existing = self.topics()
        for name, partitions in topics:
            if name not in existing:
                self.create_topic(name, partitions)

    def describe(self) -> dict[str, str]:
        """What this transport is connected to, for logs and ``exchange config show`` (no secrets)."""
        return {"transport": type(self).__name__}

    def close(self) -> None:  # noqa: B027 - optional lifecycle hook
        """Release resources."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_topic_name(name: object) -> str:
    """``name`` if Kafka would accept it as a topic name; ConfigError otherwise."""
    if not isinstance(name, str) or not _TOPIC_NAME.fullmatch(name) or name in {".", ".."}:
        raise ConfigError(f"invalid topic name {name!r}: use 1-249 of a-z A-Z 0-9 . _ -")
    return name


def check_subscription(group: object, topics: object) -> list[str]:
    """The distinct topic names of a subscription; ConfigError for an empty group or topic list."""
    if not group or not isinstance(group, str):
        raise ConfigError(f"a consumer group needs a non-empty name, got {group!r}")
    if isinstance(topics, str | bytes) or not isinstance(topics, Iterable):
        raise ConfigError(f"subscribe to a non-empty list of topic names, got {topics!r}")
    names = list(dict.fromkeys(topics))
    if not names:
        raise ConfigError(f"subscribe to a non-empty list of topic names, got {topics!r}")
    return names


__all__ = [
    "NO_HEADERS", "Consumer", "Delivery", "Headers", "Message", "Producer", "TopicInfo", "TopicPartition", "Transport",
    "check_subscription",
    "check_topic_name",
    "partition_for",
]
