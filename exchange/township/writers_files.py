"""Drop-folder exports: CSV and XLSX files with a Chinese header row, split into parts past a size.

A department exports a large table in several files; here a new part starts at the first village
boundary after ``rows_per_file`` rows, so one village's rows (and its late duplicates) share a file. A
single part is called ``<stem><suffix>``; several are ``<stem>-001<suffix>``, ``<stem>-002<suffix>``...
Files of an earlier run with the same stem are removed first, so a folder never mixes two runs.

CSV files use the excel dialect (CRLF line ends, quotes only when needed) and the department's encoding.
XLSX files are written with openpyxl's write-only mode (rows streamed, memory bounded) and made
reproducible: fixed document times and fixed zip entry times, so the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from exchange.township.export_base import OpenExport
from exchange.township.layouts import Layout

CSV_ROWS_PER_FILE = 100_000
XLSX_ROWS_PER_FILE = 20_000
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


class DropFolderExport(OpenExport):
    """Rows of one drop-folder source, written to numbered part files in its folder."""

    def __init__(self, data_dir: Path, layout: Layout, rows_per_file: int) -> None:
        self.layout = layout
        self.folder = data_dir / layout.path
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rows_per_file = rows_per_file
        self.rows = 0
        self.files: list[Path] = []
        self._part_rows = 0
        self._open = False
        pattern = re.compile(re.escape(layout.stem) + r"(-\d{3})?" + re.escape(layout.suffix))
        for old in self.folder.iterdir():
            if old.is_file() and pattern.fullmatch(old.name):
                old.unlink()

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append a batch of rows laid out as the layout's columns."""
        if not rows:
            return
        if not self._open:
            self._open_part()
            self._open = True
        self._write_rows(rows)
        self.rows += len(rows)
        self._part_rows += len(rows)

    def end_village(self) -> None:
        """A village is complete: if this part is full, the next row starts a new one."""
        if self._open and self._part_rows >= self.rows_per_file:
            self._close_part()
            self._open = False
            self._part_rows = 0

    def close(self) -> None:
        """Finish the last part; a lone part drops its number. With no rows, one file holds the header."""
        if not self.files:
            self._open_part()
            self._open = True
        if self._open:
            self._close_part()
            self._open = False
        if len(self.files) == 1:
            single = self.folder / f"{self.layout.stem}{self.layout.suffix}"
            self.files[0].replace(single)
            self.files[0] = single

    def abort(self) -> None:
        """Stop without finishing: the open part is left as it is (a workbook not yet saved is dropped)."""
        if self._open:
            self._abort_part()
            self._open = False

    def _abort_part(self) -> None:
        self._close_part()

    def _part_path(self) -> Path:
        return self.folder / f"{self.layout.stem}-{len(self.files) + 1:03d}{self.layout.suffix}"

    @abstractmethod
    def _open_part(self) -> None:
        """Start the file at ``_part_path()`` (and add it to ``files``), header first."""

    @abstractmethod
    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to the open part."""

    @abstractmethod
    def _close_part(self) -> None:
        """Finish the open part."""


class CsvExport(DropFolderExport):
    """CSV parts in the layout's encoding (UTF-8 with BOM or GB18030), header first in each."""

    def __init__(self, data_dir: Path, layout: Layout, rows_per_file: int | None = None) -> None:
        self._file: io.TextIOWrapper | None = None
        super().__init__(data_dir, layout, rows_per_file or CSV_ROWS_PER_FILE)

    def _open_part(self) -> None:
        path = self._part_path()
        self.files.append(path)
        self._file = path.open("w", encoding=self.layout.encoding, newline="")
        self._csv = csv.writer(self._file)  # the excel dialect: CRLF, quotes only when needed
        self._csv.writerow(self.layout.columns)

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self._csv.writerows(rows)

    def _close_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class XlsxExport(DropFolderExport):
    """XLSX parts, one worksheet each, header first; ``created`` is the workbooks' fixed document time."""

    def __init__(self, data_dir: Path, layout: Layout, created: datetime, rows_per_file: int | None = None) -> None:
        self.created = created
        self._book: Workbook | None = None
        super().__init__(data_dir, layout, rows_per_file or XLSX_ROWS_PER_FILE)

    def _open_part(self) -> None:
        self.files.append(self._part_path())
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("Sheet1")
        self._sheet.append(self.layout.columns)

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        append = self._sheet.append
        for row in rows:
            append(row)

    def _abort_part(self) -> None:
        self._book = None

    def _close_part(self) -> None:
        if self._book is None:
            return
        self._book.properties.created = self.created
        self._book.properties.modified = self.created
        buffer = io.BytesIO()
        # Workbook.save would stamp the document with the time of saving; its writer alone does not.
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(self._book, archive).save()
        self._book = None
        self.files[-1].write_bytes(restamp_zip(buffer.getvalue()))


def restamp_zip(data: bytes) -> bytes:
    """The same zip archive with every entry's time set to 1980-01-01, so equal content gives equal bytes.

    openpyxl stamps entries with the time of writing; everything else in the archive is deterministic.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            stamped = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
            stamped.compress_type = zipfile.ZIP_DEFLATED
            stamped.external_attr = 0o600 << 16
            target.writestr(stamped, source.read(entry))
    return out.getvalue()
