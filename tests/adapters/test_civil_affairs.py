"""The civil-affairs adapter: CSV exports in either encoding, read once, bad rows to dead letters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    assert letter["origin"] == f"{path}:3"
    assert letter["department"] == "CIVIL_AFFAIRS"
