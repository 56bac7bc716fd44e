"""The SQL table source: watermark by (timestamp, id), late commits in a grace window, bulk first load."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from databases import fresh_postgres_database
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert

from connectors.sources.sql_table import SqlTableSource

T0 = datetime(2026, 3, 1, 8, 0, 0)


class Checkpoints:
    """The checkpoint half of the state store, in memory."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def checkpoint(self, name: str) -> Any:
        return self.values.get(name)

    def save_checkpoint(self, name: str, value: Any) -> None:
        self.values[name] = value


class Registry:
    """A department table with a timestamp column of the given kind (text, as in SQLite exports, or datetime)."""

    def __init__(self, url: str, timestamp_type: Any) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.table = Table("changes", MetaData(), Column("id", Integer, primary_key=True, autoincrement=False),
                           Column("updated", timestamp_type), Column("note", String(20)))
        self.table.create(self.engine)
        self.text = timestamp_type is String

    def add(self, row_id: int, minutes: float) -> None:
        moment = T0 + timedelta(minutes=minutes)
        value = moment.strftime("%Y-%m-%d %H:%M:%S") if self.text else moment
        with self.engine.begin() as conn:
            conn.execute(insert(self.table).values(id=row_id, updated=value, note=f"row {row_id}"))


@pytest.fixture(params=["sqlite-text", "postgresql-datetime"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "sqlite-text":
        registry = Registry(f"sqlite:///{tmp_path / 'dept.db'}", String(19))
        yield registry
        registry.engine.dispose()
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        registry = Registry(url, DateTime)
        yield registry
        registry.engine.dispose()


@pytest.fixture
def open_source(registry: Registry) -> Iterator[Any]:
    """Makes sources on the registry's table and closes their connections afterwards."""
    made: list[SqlTableSource] = []

    def make(**options: Any) -> SqlTableSource:
        made.append(SqlTableSource(registry.url, "changes", timestamp_column="updated", id_column="id", **options))
        return made[-1]

    yield make
    for source in made:
        source.close()


def read(source: SqlTableSource, checkpoints: Checkpoints, batch_size: int = 1000) -> list[int]:
    """Ids delivered by one poll (each batch acknowledged, so the checkpoint moves)."""
    ids = []
    for batch in source.batches(checkpoints, batch_size):
        ids += [row.data["id"] for row in batch.rows]
        batch.delivered(0)
    return ids


def test_rows_sharing_a_timestamp_are_read_once_across_polls(registry: Registry, open_source: Any) -> None:
    """Batches that end inside a run of equal timestamps neither skip nor repeat rows."""
    for row_id in range(1, 8):
        registry.add(row_id, 0)
    source = open_source()
    checkpoints = Checkpoints()
    assert read(source, checkpoints, batch_size=3) == [1, 2, 3, 4, 5, 6, 7]
    registry.add(8, 0)
    registry.add(9, 1)
    assert read(source, checkpoints, batch_size=3) == [8, 9]
    assert read(source, checkpoints) == []


def test_a_late_commit_inside_the_grace_window_is_read_once(registry: Registry, open_source: Any) -> None:
    """A row committed after the watermark passed its timestamp is still published, exactly once."""
    source = open_source(grace_seconds=300)
    checkpoints = Checkpoints()
    registry.add(1, 0)
    registry.add(3, 10)
    assert read(source, checkpoints) == [1, 3]
    registry.add(2, 8)  # its transaction began at minute 8 and committed after the poll
    assert read(source, checkpoints) == [2]
    assert read(source, checkpoints) == []
    registry.add(4, 11)
    assert read(source, checkpoints) == [4]


def test_a_commit_later_than_the_grace_window_is_not_read(registry: Registry, open_source: Any) -> None:
    """The window is a bound: without it every poll would rescan the whole table."""
    source = open_source(grace_seconds=60)
    checkpoints = Checkpoints()
    registry.add(1, 10)
    assert read(source, checkpoints) == [1]
    registry.add(2, 0)  # ten minutes late
    assert read(source, checkpoints) == []


def test_bulk_first_load_pages_by_id_then_goes_incremental(registry: Registry, open_source: Any) -> None:
    """The first load reads by id (resuming mid-way after a failure); later polls read only changes."""
    for row_id, minutes in [(1, 5), (2, 1), (3, 9), (4, 2), (5, 7)]:
        registry.add(row_id, minutes)
    source = open_source(bulk=True)
    checkpoints = Checkpoints()
    batches = source.batches(checkpoints, 2)
    first = next(batches)
    assert [r.data["id"] for r in first.rows] == [1, 2]
    first.delivered(0)
    batches.close()  # the load stops here (a crash, a failed delivery)
    assert checkpoints.values[source.source_id] == {"bulk_id": 2}
    assert read(source, checkpoints, 2) == [3, 4, 5]
    registry.add(6, 12)
    assert read(source, checkpoints, 2) == [6]


def test_soft_deleted_rows_are_marked(tmp_path: Path) -> None:
    """A row whose delete flag is set comes out marked deleted, so the adapter publishes a DELETE."""
    engine = create_engine(f"sqlite:///{tmp_path / 'flags.db'}")
    table = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("updated", String(19)),
                  Column("scbz", String(1)))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "updated": "2026-03-01 08:00:00", "scbz": "0"},
                                     {"id": 2, "updated": "2026-03-01 08:00:01", "scbz": "1"},
                                     {"id": 3, "updated": "2026-03-01 08:00:02", "scbz": None}])
    engine.dispose()
    source = SqlTableSource(f"sqlite:///{tmp_path / 'flags.db'}", "rows", timestamp_column="updated",
                            id_column="id", deleted_column="scbz")
    [batch] = source.batches(Checkpoints())
    assert [(row.data["id"], row.deleted) for row in batch.rows] == [(1, False), (2, True), (3, False)]
    source.close()
