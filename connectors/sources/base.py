"""The source interface: batches of native rows, each with a checkpoint advanced only after delivery."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


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


@dataclass(slots=True)
class SourceBatch:
    """Rows to publish; call :meth:`delivered` only once the bus acknowledged every record of them."""

    rows: list[SourceRow]
    _on_delivered: Callable[[int], None] = field(repr=False)

    def delivered(self, rejected: int = 0) -> None:
        """Advance the source's checkpoint past this batch (``rejected`` rows went to dead letters)."""
        self._on_delivered(rejected)


class Source(ABC):
    """A department system the bus reads from."""

    source_id: str

    @abstractmethod
    def batches(self, checkpoints: CheckpointStore, batch_size: int = 1000) -> Iterator[SourceBatch]:
        """Rows not yet delivered, in batches; resumes after the last delivered checkpoint."""
