"""The education adapter: enrolments (学籍) from CSV exports with a BOM."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from factories import read_topic

from exchange.bus import Bus
from exchange.identity import make_resident_id

STUDENT = make_resident_id("530124", date(2014, 9, 3), 27)
HEADER = ["全国学籍号", "身份证号", "姓名", "学校名称", "学校标识码", "学段", "年级", "学籍状态", "学年", "是否寄宿",
          "更新时间"]
TOPIC = "education.enrolments"


def enrolment(**changes: str) -> list[str]:
    row = dict(zip(HEADER, [f"G{STUDENT}", STUDENT, "李小龙", "富民县永定小学", "2153012401", "小学", "6", "在读",
                            "2025-2026", "是", "2026-01-08 08:15:00"], strict=True))
    return list((row | changes).values())


def test_enrolment_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """Stage, status and 是/否 become the standard's values; the record id is 学籍号/学校标识码/学年."""
    path = exports.csv("education", "学籍.csv", HEADER, [
        enrolment(),
        enrolment(学校名称="富民县第一中学", 学校标识码="2153012402", 学段="初中", 年级="1", 学籍状态="转出",
                  学年="2026-2027", 是否寄宿="否"),
    ])
    assert run_adapter("education", path.parent).published == 2
    primary, secondary = read_topic(bus, TOPIC)
    assert {k: v for k, v in primary.items() if k != "meta"} == {
        "resident_id": STUDENT, "school_name": "富民县永定小学", "school_code": "2153012401", "stage": "PRIMARY",
        "grade": 6, "status": "ENROLLED", "academic_year": "2025-2026", "boarding": True,
    }
    assert primary["meta"]["source_record_id"] == f"G{STUDENT}/2153012401/2025-2026"
    assert primary["meta"]["source_department"] == "EDUCATION"
    assert (secondary["stage"], secondary["grade"], secondary["status"], secondary["boarding"]) == (
        "JUNIOR_SECONDARY", 1, "TRANSFERRED", False)


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"年级": "10"}, "invalid_grade", "grade (年级) is 10, outside 1-9"),
        ({"年级": "0"}, "invalid_grade", "grade (年级) is 0, outside 1-9"),
        ({"年级": "六年级"}, "invalid_grade", "grade (年级) is not a whole number: '六年级'"),
        ({"全国学籍号": f"L{STUDENT}"}, "inconsistent_student_number", "is not G followed by the ID number"),
        ({"学校标识码": "215301240"}, "invalid_school_code", "school_code (学校标识码) is not 10 digits"),
        ({"是否寄宿": "住校"}, "invalid_boolean", "boarding (是否寄宿) is not 是 or 否: '住校'"),
        ({"是否寄宿": ""}, "missing_field", "boarding (是否寄宿) is empty"),
        ({"学年": "2025-2027"}, "invalid_academic_year", "academic_year (学年) is not two consecutive years"),
        ({"学段": "大学"}, "unknown_code", "stage (学段) has unknown code '大学'"),
        ({"学籍状态": "借读"}, "unknown_code", "status (学籍状态) has unknown code '借读'"),
        ({"身份证号": STUDENT[:-1] + "5" if STUDENT[-1] != "5" else "6"}, "invalid_resident_id", "check digit"),
    ],
)
def test_bad_enrolments_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus, changes: dict[str, str],
                                            reason: str, detail: str) -> None:
    """Each broken enrolment is a dead letter and a line in the rejects report beside the export."""
    path = exports.csv("education", "a.csv", HEADER, [enrolment(), enrolment(**changes)])
    stats = run_adapter("education", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["origin"], letter["department"]) == (reason, "a.csv:3", "EDUCATION")
    assert detail in letter["detail"]
    assert (path.parent / "done" / "a.csv.rejects.csv").exists()
