"""Where one source's rows go while a village is generated: dirt is applied as rows come, and the
village's rows (then the late duplicates and stale copies it produced) are written in one batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from exchange.township.dirt import Row, SourceDirt, StaleCopy
from exchange.township.layouts import Layout


class RowWriter(Protocol):
    """An export being written: a SQL table or a drop folder's files."""

    rows: int

    def write(self, rows: Sequence[list[Any]]) -> None: ...

    def end_village(self) -> None: ...


class Sink:
    """One source's rows for the village being generated."""

    def __init__(self, layout: Layout, writer: RowWriter, dirt: SourceDirt) -> None:
        self.layout = layout
        self.writer = writer
        self.dirt = dirt
        self._rows: list[Row] = []
        self._later: list[Row] = []  # duplicates and stale copies go after the village's own rows

    def add(self, row: Row, *, protected: bool = False, stale: StaleCopy | None = None) -> str | None:
        """Queue ``row``, maybe spoiled first (never when ``protected``); return the dirt kind or None."""
        kind = None
        if not protected:
            kind, extra = self.dirt.spoil(row, stale)
            if extra is not None:
                self._later.append(extra)
        self._rows.append(row)
        return kind

    def add_valid(self, row: Row, *, protected: bool = False, stale: StaleCopy | None = None) -> bool:
        """Queue ``row`` like :meth:`add`; return whether a correct adapter accepts it."""
        return not self.dirt.is_rejected(self.add(row, protected=protected, stale=stale))

    def flush(self) -> None:
        """Write the village's rows, then its late rows, and tell the writer the village is done."""
        self.writer.write(self._rows)
        self.writer.write(self._later)
        self.writer.end_village()
        self._rows = []
        self._later = []

    @property
    def rows(self) -> int:
        """Rows written so far (dirty ones and late copies included)."""
        return self.writer.rows
