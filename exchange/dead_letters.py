"""Dead letters: every record the bus could not accept, with its reason and origin. Nothing is dropped."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


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

    @classmethod
    def for_row(cls, row: dict[str, Any], **kwargs: Any) -> DeadLetter:
        """A dead letter carrying a source row (any values) as JSON text."""
        text = json.dumps(row, ensure_ascii=False, default=str, sort_keys=True)
        return cls(payload=text.encode("utf-8"), **kwargs)

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
    def from_record(cls, record: dict[str, Any]) -> DeadLetter:
        return cls(**{k: (str(v) if k == "id" else v) for k, v in record.items()})

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers so standard tooling can filter dead letters without decoding them."""
        pairs = [("error.reason", self.reason), ("error.stage", self.stage), ("error.origin", self.origin)]
        if self.target_topic:
            pairs.append(("error.topic", self.target_topic))
        return [(k, v.encode("utf-8")) for k, v in pairs]
