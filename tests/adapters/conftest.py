"""Native department exports written by hand for adapter tests, and running an adapter over them."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from adapters import AdapterRun, get_adapter
from exchange.bus import Bus
from exchange.state import StateStore


def settle(path: Path) -> Path:
    """Backdate ``path`` a minute, as an export finished earlier: the drop folder reads it without waiting."""
    then = time.time() - 60
    os.utime(path, (then, then))
    return path


class Exports:
    """Writes a department's files under a test's temporary folder, in the department's own layout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def csv(self, folder: str, name: str, header: Sequence[str], rows: Sequence[Sequence[str]],
            encoding: str = "utf-8-sig") -> Path:
        path = self.root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        csv.writer(text).writerows([header, *rows])  # quotes a cell holding a comma, as Excel does
        path.write_bytes(text.getvalue().encode(encoding))
        return settle(path)

    def xlsx(self, folder: str, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
        """A workbook whose cells keep their Python types: dates become real Excel date cells."""
        path = self.root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [header, *rows]:
            sheet.append(list(row))
        book.save(path)
        return settle(path)

    def table(self, database: str, table: str, columns: Sequence[str]) -> SqlTable:
        return SqlTable(self.root / database, table, columns)


class SqlTable:
    """A table in a department's SQLite file that a test adds rows to (every column TEXT but ``id``)."""

    def __init__(self, path: Path, table: str, columns: Sequence[str]) -> None:
        self.path, self.name, self.columns = path, table, tuple(columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:
            spec = ", ".join("id INTEGER PRIMARY KEY" if c == "id" else f"{c} TEXT" for c in self.columns)
            conn.execute(f"CREATE TABLE {table} ({spec})")
        conn.close()

    def add(self, *rows: dict[str, Any]) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.executemany(f"INSERT INTO {self.name} VALUES ({', '.join('?' for _ in self.columns)})",
                             [tuple(row[c] for c in self.columns) for row in rows])
        conn.close()


@pytest.fixture
def exports(tmp_path: Path) -> Exports:
    return Exports(tmp_path / "township")


RunAdapter = Callable[..., AdapterRun]


@pytest.fixture
def run_adapter(bus: Bus, sqlite_store: StateStore) -> RunAdapter:
    """Runs the named adapter once over a path, on the test's bus and state store."""

    def run(name: str, path: Path, batch_size: int = 1000) -> AdapterRun:
        adapter = get_adapter(name)
        return adapter.run(bus, adapter.source(str(path)), sqlite_store, batch_size=batch_size)

    return run
