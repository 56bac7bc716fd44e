"""The source interface: batches of native rows, each with a checkpoint advanced only after delivery."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol


class CheckpointStore(Protocol):
    """Where sources keep their progress (the state store implements this)."""

    def checkpoint(self, name: str) -> Any: ...

    def save_checkpoint(self, name: str, value: Any) -> None: ...

    def file_processed(self, source_id: str, sha256: str) -> bool: ...

    def mark_file_processed(self, source_id: str, sha256: str, filename: str, rows: int, rejected: int) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One native row and where it came from (e.g. ``sqlite:///ps.db#hjxx_czrk:id=42``)."""

    origin: str
    data: dict[str, Any]
    deleted: bool = False  # the source withdrew the row (a soft-delete flag): publish a DELETE record


class RejectedRow(NamedTuple):
    """A row of a batch that went to dead letters instead of its topic, and why."""

    origin: str
    reason: str
    message: str


@dataclass(slots=True)
class SourceBatch:
    """Rows to publish; call :meth:`delivered` only once the bus acknowledged every record of them.

    ``on_rejects``, if given, learns which rows were rejected (a drop folder reports them back to the
    department); it is called before ``_on_delivered``, which only learns how many.
    """

    rows: list[SourceRow]
    _on_delivered: Callable[[int], None] = field(repr=False)
    on_rejects: Callable[[Sequence[RejectedRow]], None] | None = field(default=None, repr=False, kw_only=True)

    def delivered(self, rejected: int = 0, rejects: Sequence[RejectedRow] = ()) -> None:
        """Advance the source's checkpoint past this batch (``rejected`` rows, ``rejects``, went to dead letters)."""
        if self.on_rejects is not None and rejects:
            self.on_rejects([RejectedRow(*reject) for reject in rejects])
        self._on_delivered(rejected)


@dataclass(slots=True)
class FileCounts:
    """What a file source did with whole files during one pass of :meth:`Source.batches`."""

    done: int = 0  # every row delivered; filed into done/
    failed: int = 0  # not readable as a spreadsheet (or an old .xls): filed into failed/ with the reason
    duplicate: int = 0  # same content as a file processed before: nothing published, filed into done/
    waiting: int = 0  # still being written: left for the next pass


class Source(ABC):
    """A department system the bus reads from."""

    source_id: str

    @abstractmethod
    def batches(self, checkpoints: CheckpointStore, batch_size: int = 1000) -> Iterator[SourceBatch]:
        """Rows not yet delivered, in batches; resumes after the last delivered checkpoint."""

    def file_counts(self) -> FileCounts:
        """Whole files handled during the last pass of :meth:`batches`; none for a source that reads no files."""
        return FileCounts()
