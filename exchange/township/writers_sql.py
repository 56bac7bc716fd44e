"""SQLite exports (``public_security.db``, ``human_resources.db``), written in streaming batches.

Every table gets an ``id INTEGER PRIMARY KEY`` filled in insertion order and, once loaded, the
``(gxsj, id)`` index that incremental readers page by. Integer columns are declared as such; every other
column is TEXT, as in the departments' exports (codes keep their leading zeros, amounts their two decimals).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exchange.township.export_base import OpenExport
from exchange.township.layouts import Layout

INTEGER_COLUMNS = frozenset({"hrs"})

# What the registry's pinyin abbreviations mean, kept in the schema for whoever opens the file.
COMMENTS = {
    "id": "row id, increasing in insertion order",
    "gmsfhm": "公民身份号码", "sfzhm": "身份证号码", "hzgmsfhm": "户主公民身份号码", "xm": "姓名",
    "xbdm": "性别代码, GB/T 2261.1", "mzdm": "民族代码, GB/T 3304", "csrq": "出生日期 YYYYMMDD", "hh": "户号",
    "yhzgxdm": "与户主关系代码, GB/T 4761", "zz": "住址", "xzqhdm": "行政区划代码 (village, 12 digits)",
    "wgdm": "网格代码", "ryzt": "人员状态: 0 active, 1 moved out, 2 deceased",
    "gxsj": "更新时间 YYYY-MM-DD HH:MM:SS, local time",
    "hlbdm": "户类别: 1 家庭户, 2 集体户", "ssxq_sheng": "省", "ssxq_shi": "市", "ssxq_xian": "县",
    "ssxq_xiang": "乡镇", "ssxq_cun": "村", "xxdz": "详细地址 (below the village)", "hrs": "户人数",
    "qrrq": "迁入日期 (or birth) YYYYMMDD", "qcrq": "迁出日期 (moved out or died) YYYYMMDD, NULL while a member",
    "swrq": "死亡日期 YYYYMMDD", "swdd": "死亡地点", "swyydm": "死亡原因类别: 1 疾病, 2 意外, 8 其他, 9 不详",
    "swzmbh": "死亡证明编号", "zxrq": "注销户口日期 YYYYMMDD, NULL if not yet cancelled",
    "xzlx": "险种类型: 110 企业职工, 170 城乡居民", "cbzt": "参保状态: 1 缴费, 2 领取待遇, 3 暂停, 4 终止",
    "yljje": "月养老金 (yuan), NULL unless receiving", "ksrq": "开始日期 YYYYMMDD",
}


def create_table(layout: Layout) -> str:
    """The CREATE TABLE statement for a SQL layout, one commented line per column."""
    lines = []
    for position, name in enumerate(layout.columns):
        kind = "INTEGER PRIMARY KEY" if name == "id" else "INTEGER" if name in INTEGER_COLUMNS else "TEXT"
        comma = "," if position < len(layout.columns) - 1 else ""
        lines.append(f"    {f'{name} {kind}{comma}':<28}-- {COMMENTS.get(name, '')}")
    return f"CREATE TABLE {layout.table} (\n" + "\n".join(lines) + "\n)"


class SqlTable:
    """The rows of one table: ``write`` fills in each row's id (its first cell) and inserts the batch."""

    def __init__(self, conn: sqlite3.Connection, layout: Layout) -> None:
        self.layout = layout
        self.rows = 0
        self._conn = conn
        self._insert = f"INSERT INTO {layout.table} VALUES ({', '.join('?' * len(layout.columns))})"
        conn.execute(create_table(layout))

    def write(self, rows: Sequence[list[Any]]) -> None:
        """Append a batch of rows laid out as the table's columns, ids (first cell) assigned here."""
        next_id = self.rows + 1
        for offset, row in enumerate(rows):
            row[0] = next_id + offset
        self._conn.executemany(self._insert, rows)
        self.rows += len(rows)

    def end_village(self) -> None:
        """Nothing to do: a table is one file whatever the villages."""

    def close(self) -> None:
        """Add the (gxsj, id) index; the database commits and closes it."""
        table = self.layout.table
        self._conn.execute(f"CREATE INDEX idx_{table}_gxsj_id ON {table} (gxsj, id)")


class SqlDatabase(OpenExport):
    """A fresh SQLite file holding some tables; indexes are built once, at close.

    The file is created from scratch (an old one is removed) with durability off: it is a generated
    artefact, and identical inputs must give an identical file.
    """

    def __init__(self, path: Path, layouts: Sequence[Layout]) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute("BEGIN")
        self.tables = {layout.source: SqlTable(self._conn, layout) for layout in layouts}

    def close(self) -> None:
        """Index every table, commit and close the file."""
        # Building the index after the load is several times faster than maintaining it row by row.
        for table in self.tables.values():
            table.close()
        self._conn.execute("COMMIT")
        self._conn.close()

    def abort(self) -> None:
        """Close without finishing; the partial file is left for inspection."""
        self._conn.close()
