"""The human-resources adapter: pension participation per person and scheme from yl_cbxx."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from factories import read_topic

from exchange.bus import Bus
from exchange.identity import make_resident_id

COLUMNS = ("id", "sfzhm", "xm", "xzlx", "cbzt", "yljje", "ksrq", "gxsj")
PERSON = make_resident_id("530124", date(1958, 6, 1), 17)
TOPIC = "human-resources.pensions"


def pension(row_id: int, gxsj: str = "2026-01-02 09:30:00", **changes: Any) -> dict[str, Any]:
    return {"id": row_id, "sfzhm": make_resident_id("530124", date(1958, 6, 1), 10 + row_id), "xm": "张桂英",
            "xzlx": "170", "cbzt": "2", "yljje": "1,186.50", "ksrq": "20180701", "gxsj": gxsj} | changes


@pytest.fixture
def table(exports: Any) -> Any:
    return exports.table("human_resources.db", "yl_cbxx", COLUMNS)


def test_participation_is_mapped_per_scheme(table: Any, run_adapter: Any, bus: Bus) -> None:
    """Scheme and status codes become the standard's; the pension of a receiving member is kept to the fen."""
    table.add(pension(1, sfzhm=PERSON),
              pension(2, xzlx="110", cbzt="1", yljje="", ksrq="20100301"),
              pension(3, cbzt="3", yljje="900"))
    assert run_adapter("human_resources", table.path).published == 3
    receiving, paying, suspended = read_topic(bus, TOPIC)
    assert {k: v for k, v in receiving.items() if k != "meta"} == {
        "resident_id": PERSON, "scheme": "URBAN_RURAL_RESIDENTS", "status": "RECEIVING",
        "monthly_pension": Decimal("1186.50"), "since_date": date(2018, 7, 1),
    }
    assert receiving["meta"]["source_department"] == "HUMAN_RESOURCES_SOCIAL_SECURITY"
    assert receiving["meta"]["source_record_id"] == "1"
    assert receiving["meta"]["event_time"].isoformat() == "2026-01-02T01:30:00+00:00"
    assert (paying["scheme"], paying["status"], paying["monthly_pension"]) == ("URBAN_EMPLOYEES",
                                                                              "PAYING_CONTRIBUTIONS", None)
    # No pension is being paid while suspended, whatever amount the row still carries.
    assert (suspended["status"], suspended["monthly_pension"]) == ("SUSPENDED", None)


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"sfzhm": "53012419580601001"}, "invalid_resident_id", "resident_id (sfzhm)"),
        ({"xzlx": "120"}, "unknown_code", "scheme (xzlx) has unknown code '120'"),
        ({"cbzt": "5"}, "unknown_code", "status (cbzt) has unknown code '5'"),
        ({"yljje": "一千"}, "invalid_amount", "monthly_pension (yljje) is not an amount"),
        ({"yljje": ""}, "missing_field", "monthly_pension (yljje) is empty, but the status (cbzt) is RECEIVING"),
        ({"ksrq": "2018/07/01"}, "invalid_date", "since_date (ksrq) is not a date like 20240131"),
        ({"ksrq": ""}, "missing_field", "since_date (ksrq) is empty"),
    ],
)
def test_bad_rows_become_dead_letters(table: Any, run_adapter: Any, bus: Bus, changes: dict[str, str], reason: str,
                                      detail: str) -> None:
    """Each broken row is a dead letter with its reason and a message naming the field and its column."""
    table.add(pension(1), pension(2, **changes))
    stats = run_adapter("human_resources", table.path)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["department"]) == (reason, "HUMAN_RESOURCES_SOCIAL_SECURITY")
    assert detail in letter["detail"]
    assert letter["origin"].endswith("#yl_cbxx:id=2")


def test_rows_sharing_one_gxsj_are_all_read_across_polls(table: Any, run_adapter: Any, bus: Bus) -> None:
    """A nightly batch stamps many rows with one second: split over batches and polls, each is read once."""
    table.add(*(pension(i) for i in range(1, 6)))
    assert run_adapter("human_resources", table.path, batch_size=2).published == 5
    table.add(pension(6), pension(7, gxsj="2026-01-03 09:30:00"))
    assert run_adapter("human_resources", table.path, batch_size=2).published == 2
    assert run_adapter("human_resources", table.path).published == 0
    assert sorted(int(r["meta"]["source_record_id"]) for r in read_topic(bus, TOPIC)) == list(range(1, 8))


def test_a_late_commit_inside_the_grace_window_is_read(table: Any, run_adapter: Any, bus: Bus) -> None:
    """A row committed after a poll but stamped a few seconds before its watermark is still published, once."""
    table.add(pension(1, gxsj="2026-01-02 09:30:10"))
    run_adapter("human_resources", table.path)
    table.add(pension(2, gxsj="2026-01-02 09:30:05"))
    assert run_adapter("human_resources", table.path).published == 1
    assert run_adapter("human_resources", table.path).published == 0
