"""The public-security adapters (residents, households, memberships, deaths): watermarks, mapping, dead letters."""

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


# -- households, memberships and deaths (tables beside hjxx_czrk in public_security.db)

HEAD = make_resident_id("530124", date(1950, 3, 9), 31)
MEMBER = make_resident_id("530124", date(1978, 11, 2), 42)
HOUSEHOLD_COLUMNS = ("id", "hh", "hzgmsfhm", "hlbdm", "ssxq_sheng", "ssxq_shi", "ssxq_xian", "ssxq_xiang", "ssxq_cun",
                     "xxdz", "xzqhdm", "wgdm", "hrs", "gxsj")
MEMBER_COLUMNS = ("id", "hh", "gmsfhm", "yhzgxdm", "qrrq", "qcrq", "gxsj")
DEATH_COLUMNS = ("id", "gmsfhm", "xm", "swrq", "swdd", "swyydm", "swzmbh", "zxrq", "gxsj")


def household(row_id: int, gxsj: str = "2026-01-01 08:00:00", **changes: Any) -> dict[str, Any]:
    return {"id": row_id, "hh": f"53012410120100{row_id:02d}", "hzgmsfhm": HEAD, "hlbdm": "1",
            "ssxq_sheng": "云南省", "ssxq_shi": "昆明市", "ssxq_xian": "富民县", "ssxq_xiang": "永定街道",
            "ssxq_cun": "大营村委会", "xxdz": "下村组1号", "xzqhdm": "530124101201", "wgdm": "53012410120101",
            "hrs": "3", "gxsj": gxsj} | changes


def member(row_id: int, gxsj: str = "2026-01-01 08:00:00", **changes: Any) -> dict[str, Any]:
    number = make_resident_id("530124", date(1978, 11, 2), 40 + row_id)
    return {"id": row_id, "hh": "5301241012010001", "gmsfhm": number, "yhzgxdm": "20", "qrrq": "19781102",
            "qcrq": "", "gxsj": gxsj} | changes


def death(row_id: int, gxsj: str = "2026-01-01 08:00:00", **changes: Any) -> dict[str, Any]:
    return {"id": row_id, "gmsfhm": make_resident_id("530124", date(1938, 4, 5), 20 + row_id), "xm": "李秀兰",
            "swrq": "20251230", "swdd": "家中", "swyydm": "1", "swzmbh": f"S53012420250{row_id:04d}",
            "zxrq": "20260105", "gxsj": gxsj} | changes


TABLES = {  # adapter: (table, columns, row factory, topic)
    "public_security_households": ("hjxx_hxx", HOUSEHOLD_COLUMNS, household, "public-security.households"),
    "public_security_members": ("hjxx_hcybd", MEMBER_COLUMNS, member, "public-security.household-members"),
    "public_security_deaths": ("hjxx_swzx", DEATH_COLUMNS, death, "public-security.deaths"),
}


def one_record(exports: Any, run_adapter: Any, bus: Bus, adapter: str, *rows: dict[str, Any]) -> dict[str, Any]:
    table, columns, _, topic = TABLES[adapter]
    registry: Any = exports.table("public_security.db", table, columns)
    registry.add(*rows)
    run_adapter(adapter, registry.path)
    [record] = read_topic(bus, topic)
    return record


def test_household_is_mapped_with_a_structured_address(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """A hjxx_hxx row becomes a Household: address parts, division code, type and member count."""
    record = one_record(exports, run_adapter, bus, "public_security_households", household(7, hlbdm="2", hrs="12"))
    assert {k: v for k, v in record.items() if k != "meta"} == {
        "household_id": "5301241012010007", "head_resident_id": HEAD,
        "address": {"province": "云南省", "city": "昆明市", "county": "富民县", "township": "永定街道",
                    "village": "大营村委会", "division_code": "530124101201", "detail": "下村组1号"},
        "division_code": "530124101201", "grid_code": "53012410120101",
        "household_type": "COLLECTIVE", "member_count": 12,
    }
    assert record["meta"]["source_record_id"] == "7"
    assert record["meta"]["source_department"] == "PUBLIC_SECURITY"
    assert record["meta"]["event_time"].isoformat() == "2026-01-01T00:00:00+00:00"


def test_membership_is_mapped_open_and_ended(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """A hjxx_hcybd row is a HouseholdMember; an empty qcrq is a current member, a date one who left."""
    table, columns, _, topic = TABLES["public_security_members"]
    registry: Any = exports.table("public_security.db", table, columns)
    registry.add(member(1, gmsfhm=MEMBER, yhzgxdm="10", qrrq="20010315"),
                 member(2, yhzgxdm="33", qrrq="20050101", qcrq="20250630"))
    run_adapter("public_security_members", registry.path)
    current, left = read_topic(bus, topic)
    assert {k: v for k, v in current.items() if k != "meta"} == {
        "household_id": "5301241012010001", "resident_id": MEMBER, "relationship_to_head": "SPOUSE",
        "since_date": date(2001, 3, 15), "until_date": None,
    }
    assert (left["relationship_to_head"], left["until_date"]) == ("CHILD", date(2025, 6, 30))


def test_death_is_mapped_and_a_legacy_id_number_upgraded(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """A hjxx_swzx row is a Death; a 15-digit pre-1999 ID number is published in its 18-digit form."""
    full = make_resident_id("530124", date(1938, 4, 5), 21)
    legacy = full[:6] + full[8:17]
    record = one_record(exports, run_adapter, bus, "public_security_deaths",
                        death(3, gmsfhm=legacy, swyydm="2", swdd="富民县人民医院", zxrq=""))
    assert {k: v for k, v in record.items() if k != "meta"} == {
        "resident_id": full, "death_date": date(2025, 12, 30), "death_place": "富民县人民医院",
        "cause_category": "ACCIDENT", "death_certificate_number": "S530124202500003",
        "household_cancellation_date": None,
    }
    assert record["meta"]["source_record_id"] == "3"


@pytest.mark.parametrize(
    ("adapter", "changes", "reason", "detail"),
    [
        ("public_security_households", {"hzgmsfhm": HEAD[:-1] + ("1" if HEAD[-1] == "0" else "0")},
         "invalid_resident_id", "head_resident_id (hzgmsfhm): check digit"),
        ("public_security_households", {"hlbdm": "3"}, "unknown_code", "household_type (hlbdm) has unknown code '3'"),
        ("public_security_households", {"hrs": "三"}, "invalid_number", "member_count (hrs) is not a whole number"),
        ("public_security_households", {"xzqhdm": "5301241012"}, "invalid_division_code", "not 12 digits"),
        ("public_security_households", {"ssxq_cun": ""}, "missing_field", "address.village (ssxq_cun) is empty"),
        ("public_security_members", {"qcrq": "19700101"}, "invalid_date", "until_date (qcrq) 1970-01-01 is before"),
        ("public_security_members", {"qrrq": "1978-13-02"}, "invalid_date", "since_date (qrrq) is not a date like "
                                                                            "20240131"),
        ("public_security_members", {"qrrq": "1978112"}, "invalid_date", "since_date (qrrq)"),
        ("public_security_members", {"yhzgxdm": "x1"}, "unknown_code", "relationship_to_head (yhzgxdm)"),
        ("public_security_members", {"gmsfhm": "5301241978"}, "invalid_resident_id", "18 characters"),
        ("public_security_deaths", {"swyydm": "3"}, "unknown_code", "cause_category (swyydm) has unknown code '3'"),
        ("public_security_deaths", {"zxrq": "20251201"}, "invalid_date", "household_cancellation_date (zxrq)"),
        ("public_security_deaths", {"swrq": "19300101"}, "invalid_date", "before the birth date"),
        ("public_security_deaths", {"swzmbh": ""}, "missing_field", "death_certificate_number (swzmbh) is empty"),
        ("public_security_deaths", {"gxsj": "2026/01/01"}, "invalid_time", "updated (gxsj)"),
    ],
)
def test_bad_registry_rows_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus, adapter: str,
                                               changes: dict[str, str], reason: str, detail: str) -> None:
    """Each broken row is a dead letter with its reason, a message naming field and column, and its origin."""
    table, columns, make, topic = TABLES[adapter]
    registry: Any = exports.table("public_security.db", table, columns)
    registry.add(make(1), make(2, **changes))
    stats = run_adapter(adapter, registry.path)
    assert (stats.published, stats.rejected, dict(stats.reasons)) == (1, 1, {reason: 1})
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert letter["reason"] == reason
    assert detail in letter["detail"]
    assert letter["origin"].endswith(f"#{table}:id=2")
    assert letter["target_topic"] == topic


@pytest.mark.parametrize("adapter", sorted(TABLES))
def test_rows_sharing_one_gxsj_are_all_read_across_polls(exports: Any, run_adapter: Any, bus: Bus,
                                                         adapter: str) -> None:
    """Rows stamped with the same second, split across batches and polls, are each published exactly once."""
    table, columns, make, topic = TABLES[adapter]
    registry: Any = exports.table("public_security.db", table, columns)
    registry.add(*(make(i) for i in range(1, 4)))
    assert run_adapter(adapter, registry.path, batch_size=2).published == 3
    registry.add(make(4), make(5, gxsj="2026-01-01 08:00:30"))
    assert run_adapter(adapter, registry.path, batch_size=2).published == 2
    assert run_adapter(adapter, registry.path).published == 0
    assert sorted(int(r["meta"]["source_record_id"]) for r in read_topic(bus, topic)) == [1, 2, 3, 4, 5]


def test_adapters_sharing_the_registry_file_each_read_their_own_table(exports: Any, run_adapter: Any,
                                                                       bus: Bus) -> None:
    """Four tables in one public_security.db: each adapter publishes its table's rows to its own topic."""
    for table, columns, make, _ in TABLES.values():
        exports.table("public_security.db", table, columns).add(make(1), make(2))
    path = exports.root / "public_security.db"
    for adapter in TABLES:
        assert run_adapter(adapter, path).published == 2
    for _, _, _, topic in TABLES.values():
        assert len(read_topic(bus, topic)) == 2
