"""Spreadsheet exports (CSV) read once each, recognised by content hash."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

from connectors.sources.base import CheckpointStore, Source, SourceBatch, SourceRow
from exchange.errors import SourceError

ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(data: bytes, name: str) -> str:
    """The file's text: UTF-8 (with or without BOM) or GB18030, the two encodings Chinese exports use."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{name} is neither UTF-8 nor GB18030 text")


class CsvFileSource(Source):
    """Every ``*.csv`` file at ``path`` (a file or a folder) not processed before, row by row."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.source_id = f"csv:{self.path.resolve()}"

    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.glob("*.csv") if p.is_file())
        if self.path.is_file():
            return [self.path]
        raise SourceError(f"CSV source {self.path} does not exist")

    def batches(self, checkpoints: CheckpointStore, batch_size: int = 1000) -> Iterator[SourceBatch]:
        for file in self.files():
            data = file.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if not checkpoints.file_processed(self.source_id, digest):
                yield from self._file_batches(file, data, digest, checkpoints, batch_size)

    def _file_batches(
        self, file: Path, data: bytes, digest: str, checkpoints: CheckpointStore, batch_size: int
    ) -> Iterator[SourceBatch]:
        """The rows of one file; the file is marked done when its last batch is delivered."""
        reader = csv.DictReader(io.StringIO(decode_text(data, file.name), newline=""))
        if not reader.fieldnames:
            raise SourceError(f"{file} has no header row")
        # Line numbers count the header as line 1, as a spreadsheet user sees them.
        rows = [
            SourceRow(f"{file}:{line}", {k: (v or "").strip() for k, v in row.items() if k})
            for line, row in enumerate(reader, start=2)
        ]
        rejected_so_far = 0

        def on_delivered(rejected: int, last: bool) -> None:
            nonlocal rejected_so_far
            rejected_so_far += rejected
            if last:
                checkpoints.mark_file_processed(self.source_id, digest, file.name, len(rows), rejected_so_far)

        if not rows:
            on_delivered(0, last=True)
        for start in range(0, len(rows), batch_size):
            last = start + batch_size >= len(rows)
            yield SourceBatch(
                rows[start : start + batch_size], lambda rejected, last=last: on_delivered(rejected, last)
            )
