"""Native department exports, written in streaming batches.

The layouts below are a contract with the source adapters; change them only together.

- Public security: SQLite ``public_security.db``, table ``hjxx_czrk`` (常住人口 household register).
- Civil affairs: ``civil_affairs/assistance.csv``, UTF-8 with BOM and CRLF line ends (what Excel on a
  county office PC opens correctly), Chinese header.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

PUBLIC_SECURITY_FILE = "public_security.db"
CIVIL_AFFAIRS_FILE = "civil_affairs/assistance.csv"

HJXX_CZRK_COLUMNS = ("id", "gmsfhm", "xm", "xbdm", "mzdm", "csrq", "hh", "yhzgxdm", "zz", "xzqhdm", "wgdm",
                     "ryzt", "gxsj")
ASSISTANCE_HEADER = ("记录编号", "身份证号", "姓名", "救助类别", "状态", "开始日期", "结束日期", "月发放金额",
                     "更新时间")

_CREATE_TABLE = """
CREATE TABLE hjxx_czrk (
    id      INTEGER PRIMARY KEY,  -- row id, increasing in insertion order
    gmsfhm  TEXT,                 -- 公民身份号码
    xm      TEXT,                 -- 姓名
    xbdm    TEXT,                 -- 性别代码, GB/T 2261.1
    mzdm    TEXT,                 -- 民族代码, GB/T 3304
    csrq    TEXT,                 -- 出生日期 YYYYMMDD
    hh      TEXT,                 -- 户号
    yhzgxdm TEXT,                 -- 与户主关系代码, GB/T 4761
    zz      TEXT,                 -- 住址
    xzqhdm  TEXT,                 -- 行政区划代码 (village, 12 digits)
    wgdm    TEXT,                 -- 网格代码
    ryzt    TEXT,                 -- 人员状态: 0 active, 1 moved out, 2 deceased
    gxsj    TEXT                  -- 更新时间 YYYY-MM-DD HH:MM:SS, local time
)
"""
_INSERT = f"INSERT INTO hjxx_czrk VALUES ({', '.join('?' * len(HJXX_CZRK_COLUMNS))})"


class PublicSecurityWriter:
    """Writes ``hjxx_czrk`` rows to a fresh SQLite file; the index is built once, at close.

    The file is created from scratch (an old one is removed) with durability off: it is a generated
    artefact, and identical inputs must give an identical file.
    """

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self.rows = 0
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(_CREATE_TABLE)
        self._conn.execute("BEGIN")

    def write(self, rows: Sequence[Sequence[object]]) -> None:
        """Append a batch of rows laid out as ``HJXX_CZRK_COLUMNS``."""
        self._conn.executemany(_INSERT, rows)
        self.rows += len(rows)

    def close(self) -> None:
        """Commit, add the (gxsj, id) index that incremental readers page by, and close the file."""
        # Building the index after the load is several times faster than maintaining it row by row.
        self._conn.execute("CREATE INDEX idx_hjxx_czrk_gxsj_id ON hjxx_czrk (gxsj, id)")
        self._conn.execute("COMMIT")
        self._conn.close()

    def abort(self) -> None:
        """Close without finishing; the partial file is left for inspection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class AssistanceWriter:
    """Writes the civil-affairs assistance CSV, header first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file)  # the excel dialect: CRLF, quotes only when needed
        self._csv.writerow(ASSISTANCE_HEADER)

    def write(self, rows: Iterable[Sequence[str]]) -> None:
        """Append a batch of rows laid out as ``ASSISTANCE_HEADER``."""
        for row in rows:
            self._csv.writerow(row)
            self.rows += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
