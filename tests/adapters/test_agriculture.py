"""The agriculture adapter: households under poverty-return monitoring, from .xlsx (or .csv) exports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from factories import read_topic

from exchange.bus import Bus
from exchange.identity import make_resident_id

HEAD = make_resident_id("530124", date(1961, 10, 30), 55)
HEADER = ["户编号", "户主身份证号", "户主姓名", "监测对象类别", "风险类型", "识别日期", "监测状态", "家庭人均纯收入",
          "最近走访日期", "更新时间"]
TOPIC = "agriculture.poverty-return-monitoring"


def monitored(**changes: Any) -> list[Any]:
    row = dict(zip(HEADER, ["5301241012010003", HEAD, "普文学", "边缘易致贫户", "因病、因灾", date(2024, 3, 18),
                            "监测中", 6850.5, date(2025, 12, 2), datetime(2026, 1, 9, 17, 45, 0)], strict=True))
    return list((row | changes).values())


def test_monitored_household_workbook_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """Real date cells, a number cell for income and risk types joined by 、 map to the standard, in order."""
    path = exports.xlsx("agriculture", "监测户.xlsx", HEADER, [monitored()])
    assert run_adapter("agriculture", path.parent).published == 1
    [record] = read_topic(bus, TOPIC)
    assert {k: v for k, v in record.items() if k != "meta"} == {
        "household_id": "5301241012010003", "monitoring_category": "MARGINAL_PRONE_TO_POVERTY",
        "risk_types": ["ILLNESS", "NATURAL_DISASTER"], "identified_date": date(2024, 3, 18), "status": "MONITORING",
        "per_capita_net_income": Decimal("6850.50"), "last_visit_date": date(2025, 12, 2),
    }
    assert record["meta"]["source_record_id"] == "5301241012010003"
    assert record["meta"]["source_department"] == "AGRICULTURE_RURAL_AFFAIRS"
    assert record["meta"]["event_time"].isoformat() == "2026-01-09T09:45:00+00:00"


@pytest.mark.parametrize(
    ("risks", "expected"),
    [
        ("因残", ["DISABILITY"]),
        ("因学,因意外事故", ["EDUCATION", "ACCIDENT"]),
        ("因务工就业不稳，因产业经营失败、缺劳动力", ["EMPLOYMENT", "INDUSTRIAL", "OTHER"]),
        ("因自然灾害、因灾、其他", ["NATURAL_DISASTER", "OTHER"]),
        ("因病、", ["ILLNESS"]),
    ],
)
def test_risk_types_are_split_and_mapped_in_order(exports: Any, run_adapter: Any, bus: Bus, risks: str,
                                                  expected: list[str]) -> None:
    """风险类型 is split on 、 (or , ，), each looked up, most important first, each once."""
    path = exports.xlsx("agriculture", "a.xlsx", HEADER, [monitored(风险类型=risks)])
    assert run_adapter("agriculture", path.parent).published == 1
    [record] = read_topic(bus, TOPIC)
    assert record["risk_types"] == expected


def test_csv_export_with_unassessed_income_and_no_visit(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """Empty income and visit date are null; a negative income (a loss-making year) is kept."""
    header_row = ["5301241012010004", HEAD, "普文学", "突发严重困难户", "因意外事故", "2025-08-01", "风险已消除"]
    path = exports.csv("agriculture", "a.csv", HEADER, [
        [*header_row, "", "", "2026-01-09 17:45:00"],
        ["5301241012010005", *header_row[1:], "-1,200", "", "2026-01-09 17:45:00"],
    ])
    assert run_adapter("agriculture", path.parent).published == 2
    unassessed, loss = read_topic(bus, TOPIC)
    assert (unassessed["per_capita_net_income"], unassessed["last_visit_date"]) == (None, None)
    assert (unassessed["monitoring_category"], unassessed["status"]) == ("SUDDEN_SEVERE_HARDSHIP", "RISK_ELIMINATED")
    assert loss["per_capita_net_income"] == Decimal("-1200.00")


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"风险类型": "因病、因懒"}, "unknown_code", "risk_types (风险类型) has unknown code '因懒'"),
        ({"风险类型": "、"}, "missing_field", "risk_types (风险类型) names no code"),
        ({"监测对象类别": "一般农户"}, "unknown_code",
         "monitoring_category (监测对象类别) has unknown code '一般农户'"),
        ({"监测状态": "已脱贫"}, "unknown_code", "status (监测状态) has unknown code '已脱贫'"),
        ({"家庭人均纯收入": "约3000"}, "invalid_amount", "per_capita_net_income (家庭人均纯收入) is not an amount"),
        ({"识别日期": "2024/13/01"}, "invalid_date", "identified_date (识别日期) is not a date like 2024-01-31"),
        ({"户主身份证号": HEAD[:10]}, "invalid_resident_id", "head_resident_id (户主身份证号)"),
        ({"户编号": None}, "missing_field", "household_id (户编号) is empty"),
    ],
)
def test_bad_monitoring_rows_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus, changes: dict[str, Any],
                                                 reason: str, detail: str) -> None:
    """Each broken row is a dead letter with its reason and a message naming the field and its column."""
    path = exports.xlsx("agriculture", "a.xlsx", HEADER, [monitored(), monitored(**changes)])
    stats = run_adapter("agriculture", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["origin"], letter["department"]) == (reason, "a.xlsx:3",
                                                                         "AGRICULTURE_RURAL_AFFAIRS")
    assert detail in letter["detail"]
