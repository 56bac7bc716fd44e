"""The drop folder: a department saves spreadsheet exports into a folder; each is published once, then filed away.

::

    civil_affairs/                       the department drops ``*.csv`` and ``*.xlsx`` files here
        done/assistance.xlsx             every row published or dead-lettered
        done/assistance.xlsx.rejects.csv the rejected rows: row number, reason, message (UTF-8 with BOM, for Excel)
        done/copy.csv.duplicate.txt      same content as a file processed before: nothing published again
        failed/broken.xlsx               not readable as a spreadsheet at all
        failed/broken.xlsx.error.txt     why
        failed/old.xls                   an old binary Excel file: refused, the note says to save as .xlsx or .csv

A file is recognised by the hash of its content, so renaming or re-dropping an export publishes nothing
twice. A file still being written is left for the next run (see :meth:`DropFolderSource.settled`), as are
Excel lock files (``~$...``), hidden files and ``.tmp`` / ``.part`` files.

Given one file instead of a folder, the source reads that file once and moves nothing.

After each pass, :meth:`DropFolderSource.file_counts` says how many files were done, failed, duplicate or
still being written, for the run's summary.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from connectors.sources.base import CheckpointStore, FileCounts, RejectedRow, Source, SourceBatch, SourceRow
from connectors.sources.spreadsheets import SUFFIXES, UNREADABLE, SheetRow, read_rows
from exchange.errors import SourceError

log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
REPORT_HEADER = ("行号 row", "原因 reason", "说明 message")


def ignored(name: str) -> bool:
    """Hidden files, Excel lock files and files still being copied in."""
    return name.startswith((".", "~$")) or name.lower().endswith((".tmp", ".part"))


class DropFolderSource(Source):
    """Every ``*.csv`` and ``*.xlsx`` file at ``path`` (a folder, or a single file) not processed before;
    ``*.xls`` files there are refused into failed/."""

    def __init__(self, path: Path | str, *, settle_seconds: float = 2.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = Path(path)
        # "csv:" predates .xlsx support; kept so the files processed before stay recognised.
        self.source_id = f"csv:{self.path.resolve()}"
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._sleep = sleep
        self._files = FileCounts()

    def __repr__(self) -> str:
        return f"DropFolderSource({str(self.path)!r}, settle_seconds={self.settle_seconds})"

    def file_counts(self) -> FileCounts:
        return self._files

    def batches(self, checkpoints: CheckpointStore, batch_size: int = 1000) -> Iterator[SourceBatch]:
        self._files = FileCounts()
        if self.path.is_file():
            data = self.path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if not checkpoints.file_processed(self.source_id, digest):
                rows = read_rows(data, self.path.name)
                yield from self._file_batches(self.path, rows, digest, checkpoints, batch_size, lambda _: None)
            return
        if not self.path.is_dir():
            raise SourceError(f"drop folder {self.path} does not exist")
        waiting = self.waiting()
        ready = self.settled(waiting)
        self._files.waiting = len(waiting) - len(ready)
        for file in ready:
            yield from self._folder_file(file, checkpoints, batch_size)

    def waiting(self) -> list[Path]:
        """The spreadsheets in the folder (readable or refused), oldest first."""
        found = []
        for path in self.path.iterdir():
            if path.suffix.lower() in (*SUFFIXES, *UNREADABLE) and not ignored(path.name) and path.is_file():
                try:
                    found.append((path.stat().st_mtime_ns, path.name, path))
                except FileNotFoundError:  # taken away while we looked
                    continue
        return [path for *_, path in sorted(found)]

    def settled(self, files: Sequence[Path]) -> list[Path]:
        """The ``files`` unchanged for ``settle_seconds``: a fresh file is watched for the rest of its window.

        Waiting (at most ``settle_seconds``) rather than skipping lets a run that follows the export at once,
        like ``exchange demo``, read it; a file that changes meanwhile is still being written and waits for
        the next run.
        """
        now = self._clock()
        fresh: dict[Path, tuple[int, int]] = {}
        for file in files:
            try:
                stat = file.stat()
            except FileNotFoundError:  # taken away meanwhile; reading it finds it gone
                continue
            if now - stat.st_mtime < self.settle_seconds:
                fresh[file] = (stat.st_size, stat.st_mtime_ns)
        if not fresh:
            return list(files)
        newest = max(mtime_ns for _, mtime_ns in fresh.values()) / 1e9
        self._sleep(min(self.settle_seconds, max(0.0, newest + self.settle_seconds - now)))
        unsettled = set()
        for file, before in fresh.items():
            try:
                stat = file.stat()
            except FileNotFoundError:
                stat = None
            if stat is None or (stat.st_size, stat.st_mtime_ns) != before:
                log.warning("%s is still being written; it will be read on the next run", file)
                unsettled.add(file)
        return [file for file in files if file not in unsettled]

    def _folder_file(self, file: Path, checkpoints: CheckpointStore, batch_size: int) -> Iterator[SourceBatch]:
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return
        digest = hashlib.sha256(data).hexdigest()
        if checkpoints.file_processed(self.source_id, digest):
            log.warning("%s has the same content as a file processed before; not published again", file)
            self._file_away(file, DONE, ".duplicate.txt",
                            f"{file.name} has the same content (sha256 {digest}) as a file processed before.\n"
                            "Nothing in it was published again.\n")
            self._files.duplicate += 1
            return
        try:
            rows = read_rows(data, file.name)
        except SourceError as exc:
            log.warning("%s cannot be read, moved to %s/: %s", file, FAILED, exc)
            self._file_away(file, FAILED, ".error.txt", f"{exc}\n")
            self._files.failed += 1
            return
        yield from self._file_batches(file, rows, digest, checkpoints, batch_size,
                                      lambda rejects: self._file_done(file, rows, rejects))

    def _file_batches(self, file: Path, rows: list[SheetRow], digest: str, checkpoints: CheckpointStore,
                      batch_size: int, finish: Callable[[list[RejectedRow]], None]) -> Iterator[SourceBatch]:
        """The rows of one file; once its last batch is delivered it is finished, then marked processed."""
        source_rows = [SourceRow(f"{file.name}:{row.number}", row.data) for row in rows]
        rejects: list[RejectedRow] = []
        rejected_so_far = 0

        def on_delivered(rejected: int, last: bool) -> None:
            nonlocal rejected_so_far
            rejected_so_far += rejected
            if last:
                # Filed away first: a crash in between re-publishes the file (at least once) rather than
                # losing its rejects report.
                finish(rejects)
                checkpoints.mark_file_processed(self.source_id, digest, file.name, len(rows), rejected_so_far)
                self._files.done += 1

        if not source_rows:
            on_delivered(0, last=True)
        for start in range(0, len(source_rows), batch_size):
            last = start + batch_size >= len(source_rows)
            yield SourceBatch(source_rows[start : start + batch_size],
                              lambda rejected, last=last: on_delivered(rejected, last), on_rejects=rejects.extend)

    def _file_done(self, file: Path, rows: list[SheetRow], rejects: list[RejectedRow]) -> None:
        if not rejects:
            self._file_away(file, DONE)
            return
        numbers = {f"{file.name}:{row.number}": row.number for row in rows}
        report = io.StringIO()
        writer = csv.writer(report)
        writer.writerow(REPORT_HEADER)
        for reject in sorted(rejects, key=lambda r: numbers.get(r.origin, 0)):
            writer.writerow((numbers.get(reject.origin, reject.origin), reject.reason, reject.message))
        self._file_away(file, DONE, ".rejects.csv", report.getvalue())

    def _file_away(self, file: Path, folder: str, note_suffix: str = "", note: str = "") -> Path:
        """Move ``file`` into ``folder`` under a name not taken yet; write ``note`` beside it (UTF-8 with BOM)."""
        target_dir = self.path / folder
        target_dir.mkdir(exist_ok=True)
        target = target_dir / file.name
        copy = 1
        while target.exists() or (note_suffix and target.with_name(target.name + note_suffix).exists()):
            copy += 1
            target = target_dir / f"{file.stem} ({copy}){file.suffix}"
        if note_suffix:
            # The BOM lets Excel and Notepad on Chinese Windows open it as UTF-8.
            target.with_name(target.name + note_suffix).write_bytes(note.encode("utf-8-sig"))
        file.rename(target)
        return target
