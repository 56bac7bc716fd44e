"""What every department adapter does: map native rows to canonical records, validate, publish.

A row that cannot be mapped becomes a dead letter with its reason and origin. A batch's checkpoint
advances only after the bus acknowledged every record and dead letter of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, ClassVar

from adapters.fields import (
    Rejected,
    coded,
    parse_amount,
    parse_date,
    parse_local_time,
    parsed_resident_id,
    required,
    resident_id,
)
from connectors.sources import CheckpointStore, Source, SourceRow
from connectors.sources.base import RejectedRow
from connectors.sources.drop_folder import DropFolderSource
from connectors.sources.spreadsheets import SUFFIXES, UNREADABLE
from connectors.sources.sql_table import SqlTableSource
from exchange.bus import Bus
from exchange.dead_letters import DeadLetter
from exchange.errors import ValidationError
from exchange.topics import topic_for

# The parsers lived here before adapters/fields.py; third-party adapters may still import them from here.
__all__ = [
    "Adapter", "AdapterRun", "DropFolderAdapter", "Rejected", "SqlTableAdapter", "coded", "parse_amount",
    "parse_date", "parse_local_time", "parsed_resident_id", "required", "resident_id",
]


@dataclass
class AdapterRun:
    """What one run of an adapter did: rows, and (for a drop folder) whole files."""

    adapter: str
    read: int = 0
    published: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    files_done: int = 0  # files read to the end and filed into done/
    files_failed: int = 0  # files not readable (or old .xls) filed into failed/ with an error note
    files_duplicate: int = 0  # files with the content of one processed before: nothing published
    files_waiting: int = 0  # files still being written, left for the next run

    def summary(self) -> str:
        """One line for an operator: rows, reject reasons and (when any) files."""
        line = f"{self.adapter}: read {self.read:,}, published {self.published:,}, rejected {self.rejected:,}"
        if self.reasons:
            line += " (" + ", ".join(f"{reason} {n:,}" for reason, n in self.reasons.most_common()) + ")"
        files = {"done": self.files_done, "failed": self.files_failed, "duplicate": self.files_duplicate,
                 "waiting": self.files_waiting}
        if any(files.values()):
            line += "; files " + ", ".join(f"{kind} {n}" for kind, n in files.items() if n)
        return line


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
            files = source.file_counts()
            stats.files_done, stats.files_failed = files.done, files.failed
            stats.files_duplicate, stats.files_waiting = files.duplicate, files.waiting
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


class SqlTableAdapter(Adapter):
    """An adapter reading one table of a department database, incrementally by ``(gxsj, id)``."""

    source_kind = "sql table"
    table: ClassVar[str]
    grace_seconds: ClassVar[float] = 60  # department transactions commit within a minute of their gxsj stamp
    deleted_column: ClassVar[str | None] = None

    def owns_source(self, source_id: str) -> bool:
        return source_id.startswith("sql:") and source_id.endswith(f"#{self.table}")

    def source(self, url: str) -> SqlTableSource:
        if "://" not in url:  # a bare path to the department's SQLite export
            url = f"sqlite:///{url}"
        return SqlTableSource(url, self.table, timestamp_column="gxsj", id_column="id",
                              grace_seconds=self.grace_seconds, deleted_column=self.deleted_column)


class DropFolderAdapter(Adapter):
    """An adapter reading a department's spreadsheet exports from a drop folder (or one file)."""

    source_kind = "drop folder"
    # The folder(s) this adapter's exports are dropped in, relative to a township's data folder (the
    # contract in adapters/README.md); `exchange adapters list` reports a drop folder's progress under the
    # adapter whose folder its path ends with.
    folders: ClassVar[tuple[str, ...]]

    def owns_source(self, source_id: str) -> bool:
        if not source_id.startswith("csv:"):
            return False
        path = PurePath(source_id.removeprefix("csv:"))
        if path.suffix.lower() in (*SUFFIXES, *UNREADABLE):  # a single file: its folder decides
            path = path.parent
        return any(path.parts[-len(parts):] == parts for parts in (PurePath(f).parts for f in self.folders))

    def source(self, url: str) -> DropFolderSource:
        return DropFolderSource(url.removeprefix("file://"))
