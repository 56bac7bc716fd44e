"""The civil-affairs adapters (assistance, funerals): CSV and Excel exports, read once, bad rows to dead letters."""

from __future__ import annotations

import csv
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
    assert record["residence_address"] is None  # an export from before the 居住地址 column


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


def test_residence_address_is_kept_when_the_export_has_it(bus: Bus, sqlite_store: StateStore, tmp_path: Path) -> None:
    """居住地址 becomes residence_address; an empty cell in that column is unknown (null), not an empty address."""
    folder = tmp_path / "in"
    folder.mkdir()
    header = HEADER + ",居住地址"
    rows = [line("MZ1") + ",富民县永定街道大营村委会上村组8号", line("MZ2", programme="低保") + ","]
    (folder / "a.csv").write_bytes("\r\n".join([header, *rows, ""]).encode("utf-8-sig"))
    settled = time.time() - 60
    os.utime(folder / "a.csv", (settled, settled))
    assert run(bus, sqlite_store, folder).published == 2
    lived, unknown = read_topic(bus, "civil-affairs.assistance")
    assert lived["residence_address"] == "富民县永定街道大营村委会上村组8号"
    assert unknown["residence_address"] is None


def test_run_summary_counts_done_duplicate_and_failed_files(bus: Bus, sqlite_store: StateStore,
                                                            tmp_path: Path) -> None:
    """An old .xls goes to failed/ saying to save as .xlsx or .csv; a re-dropped export is a duplicate; both counted."""
    folder = tmp_path / "in"
    write(folder, "a.csv", [line("MZ1")])
    first = run(bus, sqlite_store, folder)
    assert (first.published, first.files_done, first.files_duplicate, first.files_failed) == (1, 1, 0, 0)
    write(folder, "a again.csv", [line("MZ1")])  # the same export dropped twice
    (folder / "2025年12月.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE2 header
    os.utime(folder / "2025年12月.xls", (time.time() - 60, time.time() - 60))
    write(folder, "b.csv", [line("MZ2", programme="低保")])
    second = run(bus, sqlite_store, folder)
    assert (second.published, second.files_done, second.files_duplicate, second.files_failed) == (1, 1, 1, 1)
    note = (folder / "failed" / "2025年12月.xls.error.txt").read_text(encoding="utf-8-sig")
    assert "save as .xlsx or .csv" in note
    assert len(read_topic(bus, "civil-affairs.assistance")) == 2


# -- funerals (civil_affairs/funerals/, usually .xlsx)

FUNERAL_HEADER = ["火化证编号", "身份证号", "姓名", "死亡日期", "火化日期", "殡仪馆", "更新时间"]


def funeral(number: str = "HH2026-0001", died: Any = date(2026, 1, 3), cremated: Any = date(2026, 1, 5),
            **changes: Any) -> list[Any]:
    row = dict(zip(FUNERAL_HEADER, [number, PERSON, "李秀兰", died, cremated, "富民县殡仪馆",
                                    datetime(2026, 1, 5, 16, 20, 0)], strict=True)) | changes
    return list(row.values())


def test_funeral_workbook_with_real_date_cells_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """An .xlsx whose dates are Excel date cells gives a FuneralRecord numbered by its cremation certificate."""
    path = exports.xlsx("civil_affairs/funerals", "2026年1月.xlsx", FUNERAL_HEADER, [funeral()])
    stats = run_adapter("civil_affairs_funerals", path.parent)
    assert (stats.published, stats.files_done) == (1, 1)
    [record] = read_topic(bus, "civil-affairs.funerals")
    assert {k: v for k, v in record.items() if k != "meta"} == {
        "resident_id": PERSON, "death_date": date(2026, 1, 3), "cremation_or_burial_date": date(2026, 1, 5),
        "funeral_home_name": "富民县殡仪馆", "record_number": "HH2026-0001",
    }
    assert record["meta"]["source_record_id"] == "HH2026-0001"
    assert record["meta"]["event_time"].isoformat() == "2026-01-05T08:20:00+00:00"
    assert (path.parent / "done" / path.name).exists()


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"火化日期": date(2026, 1, 1)}, "invalid_date", "cremation_or_burial_date (火化日期) 2026-01-01 is before "
                                                          "death_date 2026-01-03"),
        ({"死亡日期": "2026年1月3日"}, "invalid_date", "death_date (死亡日期) is not a date like 2024-01-31"),
        ({"身份证号": PERSON.lower()[:-1] + "Y"}, "invalid_resident_id", "resident_id (身份证号)"),
        ({"殡仪馆": None}, "missing_field", "funeral_home_name (殡仪馆) is empty"),
        ({"火化证编号": " "}, "missing_field", "record_number (火化证编号) is empty"),
    ],
)
def test_bad_funeral_rows_are_reported_back(exports: Any, run_adapter: Any, bus: Bus, changes: dict[str, Any],
                                            reason: str, detail: str) -> None:
    """A broken funeral row is a dead letter, and the rejects report beside the file tells the clerk why."""
    path = exports.xlsx("civil_affairs/funerals", "f.xlsx", FUNERAL_HEADER, [funeral(), funeral(**changes)])
    stats = run_adapter("civil_affairs_funerals", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["origin"]) == (reason, "f.xlsx:3")
    assert letter["target_topic"] == "civil-affairs.funerals"
    assert detail in letter["detail"]
    report = list(csv.reader((path.parent / "done" / "f.xlsx.rejects.csv").read_text(encoding="utf-8-sig")
                             .splitlines()))
    assert report[1][:2] == ["3", reason]
    assert detail in report[1][2]
