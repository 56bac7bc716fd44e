"""What every department adapter does: map native rows to canonical records, validate, publish.

A row that cannot be mapped becomes a dead letter with its reason and origin. A batch's checkpoint
advances only after the bus acknowledged every record and dead letter of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from adapters.code_tables import code_table
from connectors.sources import CheckpointStore, Source, SourceRow
from connectors.sources.base import RejectedRow
from exchange.bus import Bus
from exchange.clock import CHINA_TIME
from exchange.dead_letters import DeadLetter
from exchange.errors import ValidationError
from exchange.identity import ResidentId, parse_resident_id
from exchange.topics import topic_for


class Rejected(ValueError):
    """A row that breaks the data standard; ``reason`` is a short code, the message explains."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class AdapterRun:
    """What one run of an adapter did."""

    adapter: str
    read: int = 0
    published: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class Adapter(ABC):
    """One department's mapping from its native rows to one canonical record type."""

    name: ClassVar[str]
    department: ClassVar[str]
    record_type: ClassVar[str]
    description: ClassVar[str]
    source_kind: ClassVar[str]  # "sql table", "drop folder", ...

    def owns_source(self, source_id: str) -> bool:
        """Whether a checkpoint named ``source_id`` is this adapter's (for reporting its progress)."""
        return False

    @abstractmethod
    def source(self, url: str) -> Source:
        """The source this adapter reads, from a URL or path given by the operator."""

    @abstractmethod
    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        """The canonical record for ``row``; raises Rejected for a row that breaks the standard."""

    def meta(self, source_record_id: str, event_time: datetime, ingest_time: datetime) -> dict[str, Any]:
        return {
            "source_department": self.department,
            "source_record_id": source_record_id,
            "event_time": event_time,
            "ingest_time": ingest_time,
            "operation": "UPSERT",
        }

    def run(
        self,
        bus: Bus,
        source: Source,
        checkpoints: CheckpointStore,
        *,
        batch_size: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> AdapterRun:
        """Publish every row not yet delivered; return the counts."""
        topic = topic_for(self.department, self.record_type).name
        stats = AdapterRun(self.name)
        publisher = bus.publisher()
        try:
            for batch in source.batches(checkpoints, batch_size):
                ingest_time = datetime.now(UTC)
                rejects: list[RejectedRow] = []
                for row in batch.rows:
                    try:
                        record = self.to_record(row.data, ingest_time)
                        if row.deleted:
                            record["meta"]["operation"] = "DELETE"
                        publisher.publish(topic, record)
                    except (Rejected, ValidationError) as exc:
                        publisher.dead_letter(self._dead_letter(row, topic, exc))
                        reason = getattr(exc, "reason", "schema_mismatch")
                        stats.reasons[reason] += 1
                        rejects.append(RejectedRow(row.origin, reason, str(exc)))
                publisher.flush()  # raises if the bus did not acknowledge: the checkpoint stays put
                rejected = len(rejects)
                batch.delivered(rejected, rejects)
                stats.read += len(batch.rows)
                stats.rejected += rejected
                stats.published += len(batch.rows) - rejected
                if progress:
                    progress(len(batch.rows))
        finally:
            publisher.close()
        return stats

    def _dead_letter(self, row: SourceRow, topic: str, exc: Exception) -> DeadLetter:
        return DeadLetter.for_row(
            row.data,
            reason=getattr(exc, "reason", "schema_mismatch"),
            detail=str(exc),
            stage="adapter",
            origin=row.origin,
            department=self.department,
            record_type=self.record_type,
            target_topic=topic,
        )


# -- shared field parsers: each raises Rejected with the field's name


def required(row: dict[str, Any], column: str, field_name: str) -> str:
    value = row.get(column)
    text = "" if value is None else str(value).strip()
    if not text:
        raise Rejected("missing_field", f"{field_name} ({column}) is empty")
    return text


def parsed_resident_id(row: dict[str, Any], column: str) -> ResidentId:
    """The row's resident ID number with its parts (birth date, sex); Rejected when it is not valid."""
    try:
        return parse_resident_id(required(row, column, "resident_id"))
    except ValidationError as exc:
        raise Rejected("invalid_resident_id", f"resident_id ({column}): {exc}") from exc


def resident_id(row: dict[str, Any], column: str) -> str:
    return parsed_resident_id(row, column).number


def coded(row: dict[str, Any], column: str, field_name: str, table: str) -> str:
    """The standard's value for the row's native code, looked up in code table ``table``."""
    value = required(row, column, field_name)
    codes = code_table(table)
    found = codes.lookup(value)
    if found is None:
        raise Rejected("unknown_code", f"{field_name} ({column}) has unknown code {value!r} ({codes.standard})")
    return found


def parse_date(row: dict[str, Any], column: str, field_name: str, fmt: str) -> date:
    value = required(row, column, field_name)
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise Rejected("invalid_date", f"{field_name} ({column}) is not a date like {fmt}: {value!r}") from None


def parse_local_time(row: dict[str, Any], column: str, field_name: str) -> datetime:
    """A 'YYYY-MM-DD HH:MM:SS' China local time as an aware datetime."""
    value = required(row, column, field_name)
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)
    except ValueError:
        raise Rejected(
            "invalid_time", f"{field_name} ({column}) is not a time like 2024-01-31 08:00:00: {value!r}"
        ) from None


def parse_amount(row: dict[str, Any], column: str, field_name: str) -> Decimal:
    value = required(row, column, field_name)
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise Rejected("invalid_amount", f"{field_name} ({column}) is not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e8"):
        raise Rejected("invalid_amount", f"{field_name} ({column}) is out of range: {value!r}")
    return amount.quantize(Decimal("0.01"))
