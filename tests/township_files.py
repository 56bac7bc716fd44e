"""An independent reader of a generated township's files, shared by the township tests.

It reads the files as ``adapters/README.md`` describes them, without the generator's code, so a change
to what the generator writes fails the tests rather than passing through them unseen.
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

AS_OF = date(2026, 6, 1)  # the day every test township is generated as of

Row = dict[str, Any]

# The drop folders' contract, spelled out here rather than imported, so a change to the generator fails the
# tests. folder: (file name in a small township, encoding or None for XLSX, header)
FOLDERS = {
    "civil_affairs/funerals": ("funerals.xlsx", None,
                               ["火化证编号", "身份证号", "姓名", "死亡日期", "火化日期", "殡仪馆", "更新时间"]),
    "health/chronic_diseases": ("chronic_diseases.csv", "gb18030",
                                ["档案编号", "身份证号", "姓名", "疾病", "确诊日期", "管理机构", "末次随访日期",
                                 "管理状态", "更新时间"]),
    "health/family_doctors": ("family_doctors.csv", "utf-8-sig",
                              ["签约编号", "身份证号", "姓名", "团队名称", "签约医生", "签约日期", "到期日期", "服务包",
                               "更新时间"]),
    "disabled_persons": ("certificates.xlsx", None,
                         ["残疾人证号", "身份证号", "姓名", "残疾类别", "残疾等级", "发证日期", "有效期至", "证件状态",
                          "更新时间"]),
    "education": ("enrolments.csv", "utf-8-sig",
                  ["全国学籍号", "身份证号", "姓名", "学校名称", "学校标识码", "学段", "年级", "学籍状态", "学年",
                   "是否寄宿", "更新时间"]),
    "agriculture": ("monitoring.xlsx", None,
                    ["户编号", "户主身份证号", "户主姓名", "监测对象类别", "风险类型", "识别日期", "监测状态",
                     "家庭人均纯收入", "最近走访日期", "更新时间"]),
}


def sql_rows(out: Path, database: str, table: str) -> list[Row]:
    """Every row of ``table`` in the SQLite file ``database``, in id order, keyed by column."""
    with closing(sqlite3.connect(out / database)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY id")]


def sql_schema(out: Path, database: str, table: str) -> tuple[list[str], list[list[str]]]:
    """The columns of ``table`` in order, and the columns of each of its indexes."""
    with closing(sqlite3.connect(out / database)) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        indexes = [[row[2] for row in conn.execute(f"PRAGMA index_info({index[1]})")]
                   for index in conn.execute(f"PRAGMA index_list({table})")]
    return columns, indexes


def cell(value: Any) -> str:
    """A spreadsheet cell as CSV text: dates as YYYY-MM-DD, empty as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def folder_rows(out: Path, name: str) -> list[dict[str, str]]:
    """Every data row of every file of the drop folder ``name``, keyed by header, spreadsheet cells as text."""
    encoding = FOLDERS[name][1] if name in FOLDERS else "utf-8-sig"
    rows: list[dict[str, str]] = []
    for path in sorted((out / name).iterdir()):
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            values = [[cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
            book.close()
            rows += [dict(zip(values[0], row, strict=True)) for row in values[1:]]
        else:
            with path.open(encoding=encoding, newline="") as file:
                rows += csv.DictReader(file)
    return rows


def newest_valid(rows: list[Row], fault: Callable[[Row], str | None],
                 record_id: Callable[[Row], str]) -> tuple[dict[str, Row], Counter[str]]:
    """The newest 更新时间 row of each record among the rows without a fault, and what came after it: exact
    duplicates, late older rows and "newer_later" rows (which the generator never writes)."""
    newest: dict[str, Row] = {}
    later: Counter[str] = Counter()
    for row in rows:
        if fault(row):
            continue
        record = record_id(row)
        seen = newest.get(record)
        if seen is None:
            newest[record] = row
        elif seen == row:
            later["duplicate"] += 1
        elif row["更新时间"] < seen["更新时间"]:
            later["late_older"] += 1
        else:
            later["newer_later"] += 1
            newest[record] = row
    return newest, later
