"""Department spreadsheet exports read into header-keyed text rows: CSV (UTF-8 or GB18030) and Excel ``.xlsx``.

Values come out as the text a department's CSV export would hold, so one adapter maps both: dates as
``YYYY-MM-DD``, date-times as ``YYYY-MM-DD HH:MM:SS``, whole numbers without ``.0``, empty cells as "".
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

import openpyxl

from exchange.errors import SourceError

ENCODINGS = ("utf-8-sig", "gb18030")
SUFFIXES = (".csv", ".xlsx")
# Spreadsheet files departments do save but nobody can read here: refused with what to do instead, never
# silently left lying in the folder.
UNREADABLE = {".xls": "an old binary Excel workbook (.xls)", ".et": "a WPS spreadsheet (.et)"}


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One data row, keyed by header, and the row number a spreadsheet user sees it at (header = 1)."""

    number: int
    data: dict[str, str]


def decode_text(data: bytes, name: str) -> str:
    """The file's text: UTF-8 (with or without BOM) or GB18030, the two encodings Chinese exports use."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{name} is neither UTF-8 nor GB18030 text")


def read_rows(data: bytes, name: str) -> list[SheetRow]:
    """The data rows of the file called ``name``; raises SourceError when it cannot be read as a spreadsheet."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return read_csv(data, name)
    if suffix == ".xlsx":
        return read_xlsx(data, name)
    if suffix in UNREADABLE:
        raise SourceError(f"{name} is {UNREADABLE[suffix]}, which cannot be read: open it in Excel or WPS and "
                          "save as .xlsx or .csv")
    raise SourceError(f"{name} is not a .csv or .xlsx file")


def read_csv(data: bytes, name: str) -> list[SheetRow]:
    text = decode_text(data, name)
    try:
        # Numbered as Excel shows the file: one row per record, blank lines included, header row 1.
        return table(enumerate(csv.reader(io.StringIO(text, newline="")), 1), name)
    except csv.Error as exc:
        raise SourceError(f"{name} is not valid CSV: {exc}") from exc


def read_xlsx(data: bytes, name: str) -> list[SheetRow]:
    """The first worksheet of an ``.xlsx`` workbook, its first row the header."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not keep; only the values matter here.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                sheet.reset_dimensions()  # exporters often record wrong dimensions; read every row there is
                cells = ((number, [cell_text(cell.value, getattr(cell, "number_format", "General")) for cell in row])
                         for number, row in enumerate(sheet.iter_rows(min_row=1), 1))
                return table(cells, name)
            finally:
                book.close()
    except SourceError:
        raise
    except Exception as exc:  # a corrupt or foreign file fails in openpyxl, zipfile or the XML parser, in many types
        raise SourceError(f"{name} is not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from exc


def table(records: Iterable[tuple[int, Sequence[str]]], name: str) -> list[SheetRow]:
    """Rows keyed by the first record's non-empty names; blank records are skipped but keep their number."""
    numbered = iter(records)
    header = [column.strip() for column in next(numbered, (1, []))[1]]
    if not any(header):
        raise SourceError(f"{name} has no header row (its first row is empty)")
    rows = []
    for number, record in numbered:
        values = [value.strip() for value in record]
        if any(values):
            values += [""] * (len(header) - len(values))
            # Values beyond the header have no column name and are dropped, as are unnamed columns.
            rows.append(SheetRow(number, {col: value for col, value in zip(header, values, strict=False) if col}))
    return rows


def cell_text(value: Any, number_format: str = "General") -> str:
    """A cell's value as the text the same column of a CSV export holds."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Excel stores dates as date-times: a midnight shown without hours is a date.
        if value.time() == time() and "h" not in number_format.lower():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
