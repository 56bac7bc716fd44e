"""The public-security adapter: incremental reads by watermark, mapping, and dead letters."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from factories import read_topic

from adapters import get_adapter
from exchange.bus import Bus
from exchange.errors import DeliveryError
from exchange.identity import make_resident_id
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.state import StateStore

COLUMNS = ("id", "gmsfhm", "xm", "xbdm", "mzdm", "csrq", "hh", "yhzgxdm", "zz", "xzqhdm", "wgdm", "ryzt", "gxsj")


def row(row_id: int, gxsj: str = "2026-01-01 08:00:00", **changes: Any) -> dict[str, Any]:
    birth = date(1940, 1, 1 + row_id % 28)
    base = {
        "id": row_id, "gmsfhm": make_resident_id("530124", birth, 100 + row_id),
        "xm": "居民" + "零一二三四五六七八九"[row_id % 10],
        "xbdm": "1" if (100 + row_id) % 2 else "2", "mzdm": "01", "csrq": birth.strftime("%Y%m%d"),
        "hh": "5301241012010001", "yhzgxdm": "02", "zz": "云南省昆明市富民县永定街道大营村委会下村组1号",
        "xzqhdm": "530124101201", "wgdm": "53012410120101", "ryzt": "0", "gxsj": gxsj,
    }
    base.update(changes)
    return base


class Registry:
    """A public-security database file the test can add rows to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as conn:
            columns = ", ".join("id INTEGER PRIMARY KEY" if c == "id" else f"{c} TEXT" for c in COLUMNS)
            conn.execute(f"CREATE TABLE hjxx_czrk ({columns})")

    def add(self, *rows: dict[str, Any]) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.executemany(
                f"INSERT INTO hjxx_czrk VALUES ({', '.join('?' for _ in COLUMNS)})",
                [tuple(r[c] for c in COLUMNS) for r in rows],
            )



@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "ps.db")


def run(bus: Bus, store: StateStore, registry: Registry, batch_size: int = 1000) -> Any:
    adapter = get_adapter("public_security")
    return adapter.run(bus, adapter.source(str(registry.path)), store, batch_size=batch_size)


def test_rows_are_mapped_to_the_standard_codes(bus: Bus, sqlite_store: StateStore, registry: Registry) -> None:
    """Native codes (sex, status, relationship, local time) become the standard's values."""
    registry.add(row(1, xbdm="2", ryzt="2", yhzgxdm="10", gmsfhm=make_resident_id("530124", date(1940, 1, 2), 102)))
    run(bus, sqlite_store, registry)
    [record] = read_topic(bus, "public-security.residents")
    assert (record["sex"], record["status"], record["relationship_to_head"]) == ("FEMALE", "DECEASED", "SPOUSE")
    assert record["birth_date"] == date(1940, 1, 2)
    assert record["meta"]["source_record_id"] == "1"
    assert record["meta"]["event_time"].isoformat() == "2026-01-01T00:00:00+00:00"  # 08:00 in China


def test_watermark_resumes_after_the_last_delivered_row(bus: Bus, sqlite_store: StateStore, registry: Registry) -> None:
    """A second run publishes only new rows, including rows sharing the watermark's timestamp."""
    registry.add(*(row(i, "2026-01-01 08:00:00") for i in range(1, 6)))
    first = run(bus, sqlite_store, registry, batch_size=2)  # batches split rows that share one second
    assert first.published == 5
    registry.add(row(6, "2026-01-01 08:00:00"), row(7, "2026-01-02 09:00:00"))
    second = run(bus, sqlite_store, registry, batch_size=2)
    assert second.published == 2
    assert run(bus, sqlite_store, registry).published == 0
    ids = sorted(int(r["meta"]["source_record_id"]) for r in read_topic(bus, "public-security.residents"))
    assert ids == [1, 2, 3, 4, 5, 6, 7]


def test_watermark_stays_when_the_bus_does_not_acknowledge(
    bus: Bus, sqlite_store: StateStore, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed delivery raises, keeps the watermark, and the next run publishes the same rows."""
    registry.add(row(1), row(2))
    producer_type = type(bus.transport.producer())

    def refuse(self: Any) -> Any:
        raise DeliveryError("broker unavailable")

    monkeypatch.setattr(producer_type, "flush", refuse)
    with pytest.raises(DeliveryError):
        run(bus, sqlite_store, registry)
    monkeypatch.undo()
    assert run(bus, sqlite_store, registry).published == 2


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"gmsfhm": "530124194001010000"}, "invalid_resident_id", "check digit"),
        ({"gmsfhm": "53012419401301011X"}, "invalid_resident_id", "birth date"),
        ({"xm": ""}, "missing_field", "name"),
        ({"xm": "张三3"}, "invalid_name", "'3'"),
        ({"xbdm": "7"}, "unknown_code", "sex"),
        ({"mzdm": "99"}, "unknown_code", "GB/T 3304"),
        ({"yhzgxdm": "2"}, "unknown_code", "relationship_to_head"),
        ({"csrq": "19400105"}, "inconsistent_birth_date", "birth_date"),
        ({"gxsj": "yesterday"}, "invalid_time", "updated"),
    ],
)
def test_bad_rows_become_dead_letters_with_reason_and_origin(
    bus: Bus, sqlite_store: StateStore, registry: Registry, changes: dict[str, str], reason: str, detail: str
) -> None:
    """Every rejected row is on the dead-letter topic with its reason, its origin and its content."""
    registry.add(row(1), row(2, **changes))
    stats = run(bus, sqlite_store, registry)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert letter["reason"] == reason
    assert detail in letter["detail"]
    assert letter["department"] == "PUBLIC_SECURITY"
    assert letter["origin"].endswith("#hjxx_czrk:id=2")
    assert letter["target_topic"] == "public-security.residents"
    assert b'"id": 2' in letter["payload"]


def test_soft_deleted_resident_is_withdrawn_end_to_end(bus: Bus, sqlite_store: StateStore, registry: Registry) -> None:
    """A row flagged deleted (scbz) is published as a DELETE, and the mediator withdraws the resident's form."""
    registry.add(row(1))
    with sqlite3.connect(registry.path) as conn:
        conn.execute("ALTER TABLE hjxx_czrk ADD COLUMN scbz TEXT")
    run(bus, sqlite_store, registry)
    mediator = Mediator(bus, sqlite_store, load_processes(), today=lambda: date(2026, 6, 1))
    assert mediator.run(until_caught_up=True).forms == {"created": 1}
    with sqlite3.connect(registry.path) as conn:
        conn.execute("UPDATE hjxx_czrk SET scbz = '1', gxsj = '2026-01-02 08:00:00' WHERE id = 1")
    run(bus, sqlite_store, registry)
    operations = [r["meta"]["operation"] for r in read_topic(bus, "public-security.residents")]
    assert operations == ["UPSERT", "DELETE"]
    assert mediator.run(until_caught_up=True).forms == {"superseded": 1}
