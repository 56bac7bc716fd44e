"""Entity views: per person (or household), the latest fact of each kind from each source, with provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def json_value(value: Any) -> Any:
    """``value`` as JSON: dates as ISO text, decimals as exact strings, nested structures converted."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def iso_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Fact:
    """The newest record of one kind (record type + fact key) from one department about one entity."""

    entity_type: str
    entity_key: str
    record_type: str
    fact_key: str
    department: str
    source_record_id: str
    event_time: int
    received_time: int
    payload: dict[str, Any] = field(compare=False)
    deleted: bool = False

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        return (self.entity_type, self.entity_key, self.record_type, self.fact_key, self.department)

    def supersedes(self, older: Fact | None) -> bool:
        """Whether this record changes the stored fact ``older``.

        A newer event time wins; a late record with an older event time never overwrites; an exact
        duplicate changes nothing. Equal event times fall back to the time received, so replaying
        the log in order always ends in the same state.
        """
        if older is None:
            return True
        if (self.event_time, self.received_time) <= (older.event_time, older.received_time):
            return False
        return (self.payload, self.deleted, self.source_record_id) != (
            older.payload, older.deleted, older.source_record_id,
        ) or self.event_time != older.event_time

    def provenance(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "record_type": self.record_type,
            "source_record_id": self.source_record_id,
            "event_time": iso_ms(self.event_time),
            "received_time": iso_ms(self.received_time),
        }

    def as_row(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "entity_key": self.entity_key,
            "record_type": self.record_type,
            "fact_key": self.fact_key,
            "department": self.department,
            "source_record_id": self.source_record_id,
            "event_time": self.event_time,
            "received_time": self.received_time,
            "deleted": self.deleted,
            "payload": self.payload,
        }


@dataclass(slots=True)
class EntityView:
    """Every live fact about one entity."""

    entity_type: str
    entity_key: str
    facts: list[Fact] = field(default_factory=list)

    def of_type(self, record_type: str) -> list[Fact]:
        """Live facts of ``record_type``, newest event first."""
        found = [f for f in self.facts if f.record_type == record_type and not f.deleted]
        return sorted(found, key=lambda f: (f.event_time, f.received_time), reverse=True)

    def values(self, path: str) -> list[tuple[Any, Fact]]:
        """For ``record_type.field``, each present value with the fact it came from, newest first."""
        record_type, _, name = path.partition(".")
        return [
            (f.payload[name], f)
            for f in self.of_type(record_type)
            if f.payload.get(name) not in (None, "")
        ]
