"""The spreadsheet drop folder: CSV and .xlsx read once, filed into done/ or failed/, half-written files left alone."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connectors.sources.base import FileCounts, RejectedRow, SourceRow
from connectors.sources.drop_folder import DropFolderSource
from exchange.errors import SourceError
from exchange.state import StateStore

HEADER = ["记录编号", "姓名", "开始日期", "更新时间", "月发放金额", "备注"]
CSV_ROWS = [
    ["MZ1", "李秀兰", "2020-01-01", "2026-01-05 10:00:00", "100", ""],
    ["MZ2", "王建国", "2021-03-15", "2026-01-05 00:00:00", "100.5", "复核"],
]
EXPECTED = [dict(zip(HEADER, row, strict=True)) for row in CSV_ROWS]


def settle(path: Path, age: float = 60) -> Path:
    """Backdate ``path`` so the drop folder sees it as finished."""
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def write_csv(folder: Path, name: str, rows: list[list[str]], encoding: str = "utf-8-sig", age: float = 60) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes("\r\n".join(",".join(row) for row in [HEADER, *rows]).encode(encoding) + b"\r\n")
    return settle(path, age)


def write_xlsx(folder: Path, name: str, rows: list[list[Any]], age: float = 60) -> Path:
    folder.mkdir(exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    book.create_sheet("说明").append(["only the first worksheet is read"])
    path = folder / name
    book.save(path)
    return settle(path, age)


def drain(source: DropFolderSource, store: StateStore, reject: dict[str, str] | None = None) -> list[SourceRow]:
    """Every row the source yields, delivered in batches of two; rows whose record id is in ``reject`` rejected."""
    reject = reject or {}
    rows: list[SourceRow] = []
    for batch in source.batches(store, batch_size=2):
        rejects = [RejectedRow(row.origin, reject[row.data["记录编号"]], f"{row.data['记录编号']} is bad")
                   for row in batch.rows if row.data.get("记录编号") in reject]
        batch.delivered(len(rejects), rejects)
        rows += batch.rows
    return rows


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_is_read_and_moved_to_done(sqlite_store: StateStore, tmp_path: Path,
                                                       encoding: str) -> None:
    """A CSV in UTF-8, UTF-8 with BOM or GB18030 gives the same rows, then moves to done/ with no report."""
    write_csv(tmp_path / "in", "assistance.csv", CSV_ROWS, encoding)
    rows = drain(DropFolderSource(tmp_path / "in"), sqlite_store)
    assert [row.data for row in rows] == EXPECTED
    assert [row.origin for row in rows] == ["assistance.csv:2", "assistance.csv:3"]
    assert names(tmp_path / "in") == {"done"}
    assert names(tmp_path / "in" / "done") == {"assistance.csv"}


def test_xlsx_gives_the_rows_of_the_equivalent_csv(sqlite_store: StateStore, tmp_path: Path) -> None:
    """Excel dates, date-times, numbers and empty cells read as the CSV export's text, numbered as Excel shows."""
    write_xlsx(tmp_path / "in", "assistance.xlsx", [
        ["MZ1", "李秀兰", date(2020, 1, 1), datetime(2026, 1, 5, 10, 0, 0), 100, None],
        [None, None, None, None, None, None],  # a blank row: skipped, but still counted as Excel numbers rows
        ["MZ2", "王建国", datetime(2021, 3, 15), datetime(2026, 1, 5, 0, 0, 0), 100.5, " 复核 "],
    ])
    book = openpyxl.load_workbook(tmp_path / "in" / "assistance.xlsx")
    book.active["C4"].number_format = "yyyy-mm-dd"  # a date typed into a date-formatted cell is a midnight datetime
    book.save(tmp_path / "in" / "assistance.xlsx")
    settle(tmp_path / "in" / "assistance.xlsx")
    rows = drain(DropFolderSource(tmp_path / "in"), sqlite_store)
    assert [row.data for row in rows] == EXPECTED
    assert [row.origin for row in rows] == ["assistance.xlsx:2", "assistance.xlsx:4"]
    assert names(tmp_path / "in" / "done") == {"assistance.xlsx"}


def test_done_file_has_a_rejects_report_listing_the_rejected_rows(sqlite_store: StateStore, tmp_path: Path) -> None:
    """Rejected rows from any batch are listed by row number, reason and message beside the done file."""
    rows = [[f"MZ{i}", "李秀兰", "2020-01-01", "2026-01-05 10:00:00", "100", ""] for i in range(1, 6)]
    write_csv(tmp_path / "in", "a.csv", rows)
    drain(DropFolderSource(tmp_path / "in"), sqlite_store, reject={"MZ4": "unknown_code", "MZ2": "invalid_amount"})
    done = tmp_path / "in" / "done"
    assert names(done) == {"a.csv", "a.csv.rejects.csv"}
    report = (done / "a.csv.rejects.csv").read_bytes()
    assert report.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to open it as UTF-8
    assert report.decode("utf-8-sig").splitlines() == [
        "行号 row,原因 reason,说明 message",
        "3,invalid_amount,MZ2 is bad",
        "5,unknown_code,MZ4 is bad",
    ]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("broken.xlsx", os.urandom(2000), "not a readable .xlsx workbook"),
        ("empty.xlsx", None, "no header row"),
        ("no-header.csv", b"\r\n\r\nMZ1,x\r\n", "no header row"),
        ("binary.csv", b"\xff\xfe\xff\x00\x81" * 50, "neither UTF-8 nor GB18030"),
    ],
)
def test_unreadable_file_moves_to_failed_with_its_reason(sqlite_store: StateStore, tmp_path: Path, name: str,
                                                         content: bytes | None, why: str) -> None:
    """A file that is no spreadsheet goes to failed/ with an error note, and the next file is still read."""
    folder = tmp_path / "in"
    folder.mkdir()
    if content is None:
        openpyxl.Workbook().save(folder / name)
    else:
        (folder / name).write_bytes(content)
    settle(folder / name, age=120)  # older, so read first
    write_csv(folder, "good.csv", CSV_ROWS)
    rows = drain(DropFolderSource(folder), sqlite_store)
    assert [row.data for row in rows] == EXPECTED
    assert names(folder / "failed") == {name, f"{name}.error.txt"}
    assert why in (folder / "failed" / f"{name}.error.txt").read_text(encoding="utf-8-sig")
    assert names(folder / "done") == {"good.csv"}


def test_a_file_still_being_written_is_read_on_the_next_run(sqlite_store: StateStore, tmp_path: Path) -> None:
    """A fresh file that changes during its settle window is left for the next run, which reads it."""
    path = write_csv(tmp_path / "in", "a.csv", CSV_ROWS[:1], age=0)
    waits: list[float] = []

    def exporter_still_writing(seconds: float) -> None:
        waits.append(seconds)
        with path.open("ab") as file:
            file.write(",".join(CSV_ROWS[1]).encode() + b"\r\n")

    assert drain(DropFolderSource(tmp_path / "in", sleep=exporter_still_writing), sqlite_store) == []
    assert names(tmp_path / "in") == {"a.csv"}
    assert 0 < waits[0] <= 2
    rows = drain(DropFolderSource(tmp_path / "in", sleep=waits.append), sqlite_store)
    assert [row.data for row in rows] == EXPECTED
    assert names(tmp_path / "in" / "done") == {"a.csv"}


def test_a_settled_file_is_read_without_waiting(sqlite_store: StateStore, tmp_path: Path) -> None:
    """A file unchanged for settle_seconds is read at once; with settle_seconds=0 even a fresh one is."""
    write_csv(tmp_path / "in", "a.csv", CSV_ROWS[:1], age=3)
    write_csv(tmp_path / "in", "b.csv", CSV_ROWS[1:], age=0)
    waits: list[float] = []
    assert len(drain(DropFolderSource(tmp_path / "in", settle_seconds=0, sleep=waits.append), sqlite_store)) == 2
    assert waits == []


def test_lock_hidden_and_temporary_files_are_ignored(sqlite_store: StateStore, tmp_path: Path) -> None:
    """Excel lock files, hidden files, .tmp/.part copies and other file types are neither read nor moved."""
    folder = tmp_path / "in"
    ignored = ["~$assistance.xlsx", ".assistance.csv", "assistance.csv.tmp", "assistance.csv.part",
               "assistance.CSV.TMP", "readme.txt"]
    for name in ignored:
        write_csv(folder, name, CSV_ROWS)
    (folder / "old.csv").mkdir()  # a folder named like a spreadsheet
    assert drain(DropFolderSource(folder), sqlite_store) == []
    assert names(folder) == {*ignored, "old.csv"}


def test_same_content_dropped_twice_is_published_once(sqlite_store: StateStore, tmp_path: Path) -> None:
    """A re-dropped or renamed copy of a processed file goes to done/ with a duplicate note, publishing nothing."""
    folder = tmp_path / "in"
    write_csv(folder, "a.csv", CSV_ROWS)
    assert len(drain(DropFolderSource(folder), sqlite_store)) == 2
    write_csv(folder, "a.csv", CSV_ROWS)
    write_csv(folder, "a copy.csv", CSV_ROWS)
    write_csv(folder, "b.csv", CSV_ROWS[:1], encoding="gb18030")  # same rows, other bytes: a new export
    rows = drain(DropFolderSource(folder), sqlite_store)
    assert [row.origin for row in rows] == ["b.csv:2"]
    assert names(folder) == {"done"}
    assert names(folder / "done") == {"a.csv", "a (2).csv", "a (2).csv.duplicate.txt", "a copy.csv",
                                      "a copy.csv.duplicate.txt", "b.csv"}
    assert "same content" in (folder / "done" / "a (2).csv.duplicate.txt").read_text(encoding="utf-8-sig")


def test_a_single_file_is_read_once_in_place(sqlite_store: StateStore, tmp_path: Path) -> None:
    """Given a file instead of a folder, the source reads it once and moves nothing."""
    path = write_csv(tmp_path / "in", "a.xlsx.csv", CSV_ROWS, age=0)
    assert len(drain(DropFolderSource(path), sqlite_store)) == 2
    assert drain(DropFolderSource(path), sqlite_store) == []
    assert names(tmp_path / "in") == {"a.xlsx.csv"}


def test_a_missing_folder_is_a_source_error(sqlite_store: StateStore, tmp_path: Path) -> None:
    """A drop folder that does not exist is reported, not silently treated as empty."""
    with pytest.raises(SourceError, match="does not exist"):
        drain(DropFolderSource(tmp_path / "nowhere"), sqlite_store)


@pytest.mark.parametrize("name", ["2025年12月.xls", "OLD.XLS", "wps.et"])
def test_an_old_binary_excel_file_is_refused_into_failed(sqlite_store: StateStore, tmp_path: Path, name: str) -> None:
    """An .xls (or WPS .et) is not left lying unread: it goes to failed/ with a note saying how to re-save it."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE2 compound file header
    settle(folder / name, age=120)
    write_csv(folder, "good.csv", CSV_ROWS)
    source = DropFolderSource(folder)
    assert [row.data for row in drain(source, sqlite_store)] == EXPECTED
    assert names(folder / "failed") == {name, f"{name}.error.txt"}
    note = (folder / "failed" / f"{name}.error.txt").read_text(encoding="utf-8-sig")
    assert "cannot be read" in note
    assert "save as .xlsx or .csv" in note
    assert (source.file_counts().done, source.file_counts().failed) == (1, 1)


def test_file_counts_say_what_became_of_each_file(sqlite_store: StateStore, tmp_path: Path) -> None:
    """After a pass the source reports files done, failed, duplicate and still being written; the next pass anew."""
    folder = tmp_path / "in"
    write_csv(folder, "a.csv", CSV_ROWS)
    source = DropFolderSource(folder, sleep=lambda _: None)
    drain(source, sqlite_store)
    assert source.file_counts() == FileCounts(done=1)
    write_csv(folder, "a again.csv", CSV_ROWS)
    (folder / "broken.csv").write_bytes(b"\xff\xfe\xff\x00\x81" * 50)  # neither UTF-8 nor GB18030
    settle(folder / "broken.csv")
    fresh = write_csv(folder, "fresh.csv", CSV_ROWS[:1], age=0)

    def still_writing(seconds: float) -> None:
        fresh.write_bytes(fresh.read_bytes() + b"MZ9,x\r\n")

    source = DropFolderSource(folder, sleep=still_writing)
    assert drain(source, sqlite_store) == []
    assert source.file_counts() == FileCounts(done=0, failed=1, duplicate=1, waiting=1)
    assert len(drain(DropFolderSource(folder, sleep=lambda _: None), sqlite_store)) == 2
