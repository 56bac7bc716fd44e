"""Dead letters: every record the bus could not accept, with its reason and origin. Nothing is dropped."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Message


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected record; ``payload`` holds the original bytes or the source row as JSON."""

    reason: str
    detail: str
    stage: str
    origin: str
    payload: bytes
    department: str | None = None
    record_type: str | None = None
    target_topic: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    failed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Where a message read from the bus sat (headers only: the origin text says the same for people).
    source_partition: int | None = None
    source_offset: int | None = None
    source_timestamp_ms: int | None = None

    @classmethod
    def for_row(cls, row: dict[str, Any], **kwargs: Any) -> DeadLetter:
        """A dead letter carrying a source row (any values) as JSON text."""
        text = json.dumps(row, ensure_ascii=False, default=str, sort_keys=True)
        return cls(payload=text.encode("utf-8"), **kwargs)

    @classmethod
    def for_message(cls, message: Message, **kwargs: Any) -> DeadLetter:
        """A dead letter carrying a bus message's bytes, with where it sat."""
        return cls(payload=message.value or b"", origin=f"{message.topic}/{message.partition}@{message.offset}",
                   target_topic=message.topic, source_partition=message.partition, source_offset=message.offset,
                   source_timestamp_ms=message.timestamp_ms, **kwargs)

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "detail": self.detail,
            "department": self.department,
            "record_type": self.record_type,
            "stage": self.stage,
            "origin": self.origin,
            "target_topic": self.target_topic,
            "payload": self.payload,
            "failed_at": self.failed_at,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], message: Message | None = None) -> DeadLetter:
        """The dead letter stored in ``record`` (and the headers of ``message`` it came in, if given)."""
        source: dict[str, Any] = {}
        if message is not None:
            for name, key in (("error.partition", "source_partition"), ("error.offset", "source_offset"),
                              ("error.timestamp", "source_timestamp_ms")):
                value = message.header(name)
                if value is not None:
                    source[key] = int(value)
        return cls(**{k: (str(v) if k == "id" else v) for k, v in record.items()}, **source)

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers so standard tooling can filter dead letters without decoding them."""
        pairs = [("error.reason", self.reason), ("error.stage", self.stage), ("error.origin", self.origin)]
        optional = [("error.topic", self.target_topic), ("error.partition", self.source_partition),
                    ("error.offset", self.source_offset), ("error.timestamp", self.source_timestamp_ms)]
        pairs += [(k, str(v)) for k, v in optional if v is not None]
        return [(k, v.encode("utf-8")) for k, v in pairs]
