"""Reading dead letters back from the dead-letter topic: what ``exchange dlq list`` and ``/api/dead-letters`` show.

The topic is read from offset 0 by a consumer that never commits, so reading changes nothing on the bus.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import NamedTuple

from exchange.bus import Bus
from exchange.dead_letters import DeadLetter
from exchange.settings import Settings
from exchange.topics import DEAD_LETTER_TOPIC

CLI_GROUP = "exchange-dlq-cli"


class StoredDeadLetter(NamedTuple):
    """A dead letter and where it sits on the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter


def read_dead_letters(bus: Bus, group: str = CLI_GROUP) -> list[StoredDeadLetter]:
    """Every dead letter on ``bus`` up to the topic's end when called, in the order the consumer returns them."""
    if DEAD_LETTER_TOPIC not in bus.transport.topics():
        return []
    letters = []
    with bus.consumer(group, [DEAD_LETTER_TOPIC]) as consumer:  # never commits: reads from 0
        remaining = sum(bus.transport.end_offsets(DEAD_LETTER_TOPIC).values())
        while remaining > 0:
            batch = consumer.poll(max_records=1000, timeout=1.0)
            if not batch:
                break
            for message in batch:
                letters.append(StoredDeadLetter(message.partition, message.offset,
                                                DeadLetter.from_record(bus.decode(message).value)))
            remaining -= len(batch)
    return letters


def dead_letters_on(settings: Settings, group: str = CLI_GROUP) -> list[StoredDeadLetter]:
    """Every dead letter on the bus ``settings`` name, read through a bus opened and closed for the call."""
    with Bus.open(settings) as bus:
        return read_dead_letters(bus, group)


def matching(letters: Iterable[StoredDeadLetter], department: str | None = None,
             reason: str | None = None) -> list[StoredDeadLetter]:
    """The letters of ``department`` and with ``reason`` (None: any)."""
    return [s for s in letters if (department is None or s.letter.department == department)
            and (reason is None or s.letter.reason == reason)]


class DeadLetterReader:
    """Reads the dead-letter topic for a long-running server.

    Each read opens its own bus (acceptable while operators read rarely; the one place to share a bus
    later) and joins a group of its own, so concurrent reads never split the partitions between them.
    """

    def __init__(self, settings: Settings, group_prefix: str = "exchange-dlq-api") -> None:
        self.settings, self.group_prefix = settings, group_prefix

    def read(self) -> list[StoredDeadLetter]:
        return dead_letters_on(self.settings, f"{self.group_prefix}-{uuid.uuid4().hex[:12]}")


__all__ = ["CLI_GROUP", "DeadLetterReader", "StoredDeadLetter", "dead_letters_on", "matching", "read_dead_letters"]
