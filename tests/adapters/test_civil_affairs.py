"""The civil-affairs adapter: CSV and Excel exports in either encoding, read once, bad rows to dead letters."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from factories import read_topic

from adapters import get_adapter
from exchange.bus import Bus
from exchange.identity import make_resident_id
from exchange.state import StateStore

HEADER = "记录编号,身份证号,姓名,救助类别,状态,开始日期,结束日期,月发放金额,更新时间"
PERSON = make_resident_id("530124", date(1938, 4, 5), 21)


def line(record_id: str = "MZ1", number: str = PERSON, programme: str = "高龄津贴", status: str = "享受中",
         end: str = "", amount: str = "100.00") -> str:
    return f"{record_id},{number},李秀兰,{programme},{status},2020-01-01,{end},{amount},2026-01-05 10:00:00"


def write(folder: Path, name: str, lines: list[str], encoding: str = "utf-8-sig") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes("\r\n".join([HEADER, *lines, ""]).encode(encoding))
    settled = time.time() - 60  # written a minute ago: the drop folder reads it without waiting
    os.utime(path, (settled, settled))
    return path


def run(bus: Bus, store: StateStore, folder: Path) -> Any:
    adapter = get_adapter("civil_affairs")
    return adapter.run(bus, adapter.source(str(folder)), store)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_export_in_either_encoding_is_mapped(bus: Bus, sqlite_store: StateStore, tmp_path: Path,
                                             encoding: str) -> None:
    """UTF-8 (with or without BOM) and GB18030 exports give the same canonical record."""
    write(tmp_path / "in", "a.csv", [line(status="已停发", end="2025-12-31")], encoding)
    assert run(bus, sqlite_store, tmp_path / "in").published == 1
    [record] = read_topic(bus, "civil-affairs.assistance")
    assert record["programme"] == "ELDERLY_ALLOWANCE"
    assert record["status"] == "ENDED"
    assert record["end_date"] == date(2025, 12, 31)
    assert record["monthly_amount"] == Decimal("100.00")
    assert record["meta"]["source_record_id"] == "MZ1"


def test_excel_export_gives_the_records_of_the_csv_export(bus: Bus, sqlite_store: StateStore, tmp_path: Path) -> None:
    """An .xlsx with real dates, date-times and numbers publishes the same records as the equivalent CSV."""
    write(tmp_path / "csv", "a.csv", [line("MZ1", end="2025-12-31", amount="100")])
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["MZ1", PERSON, "李秀兰", "高龄津贴", "享受中", date(2020, 1, 1), date(2025, 12, 31), 100,
                  datetime(2026, 1, 5, 10, 0, 0)])
    (tmp_path / "xlsx").mkdir()
    book.save(tmp_path / "xlsx" / "a.xlsx")
    settled = time.time() - 60
    os.utime(tmp_path / "xlsx" / "a.xlsx", (settled, settled))
    assert run(bus, sqlite_store, tmp_path / "csv").published == 1
    assert run(bus, sqlite_store, tmp_path / "xlsx").published == 1
    from_csv, from_xlsx = read_topic(bus, "civil-affairs.assistance")
    ingest = {"ingest_time": None}
    assert {**from_csv, "meta": from_csv["meta"] | ingest} == {**from_xlsx, "meta": from_xlsx["meta"] | ingest}
    assert (tmp_path / "xlsx" / "done" / "a.xlsx").exists()


def test_a_file_is_processed_once(bus: Bus, sqlite_store: StateStore, tmp_path: Path) -> None:
    """Running again publishes nothing for a file already delivered; a new file is picked up."""
    write(tmp_path / "in", "a.csv", [line("MZ1"), line("MZ2", programme="低保")])
    assert run(bus, sqlite_store, tmp_path / "in").published == 2
    assert run(bus, sqlite_store, tmp_path / "in").published == 0
    write(tmp_path / "in", "b.csv", [line("MZ3", programme="特困供养")])
    assert run(bus, sqlite_store, tmp_path / "in").published == 1


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        (line(number=PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")), "invalid_resident_id"),
        (line(programme="临时救助"), "unknown_code"),
        (line(amount="六百"), "invalid_amount"),
        (line(amount="-5"), "invalid_amount"),
        (line(status="享受中", end="2019-01-01"), "invalid_date"),
    ],
)
def test_bad_rows_become_dead_letters_with_line_numbers(bus: Bus, sqlite_store: StateStore, tmp_path: Path,
                                                        bad_line: str, reason: str) -> None:
    """A rejected row is a dead letter naming the file and line a spreadsheet user would look at."""
    path = write(tmp_path / "in", "a.csv", [line("MZ1"), bad_line])
    stats = run(bus, sqlite_store, tmp_path / "in")
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert letter["reason"] == reason
    assert letter["origin"] == f"{path.name}:3"
    assert letter["department"] == "CIVIL_AFFAIRS"
    report = (tmp_path / "in" / "done" / "a.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert report[1].startswith(f"3,{reason},")


def test_a_single_file_is_read_in_place(bus: Bus, sqlite_store: StateStore, tmp_path: Path) -> None:
    """Given one file rather than a folder, the adapter reads it once and leaves it where it is."""
    path = write(tmp_path / "in", "a.csv", [line("MZ1")])
    assert run(bus, sqlite_store, path).published == 1
    assert run(bus, sqlite_store, path).published == 0
    assert path.exists()
    assert not (tmp_path / "in" / "done").exists()
