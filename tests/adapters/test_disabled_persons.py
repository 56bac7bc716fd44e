"""The disabled persons' federation adapter: certificates from .xlsx (or .csv) exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from factories import read_topic

from exchange.bus import Bus
from exchange.identity import make_resident_id

HOLDER = make_resident_id("530124", date(1966, 2, 14), 88)
OTHER = make_resident_id("530124", date(1970, 5, 1), 12)
HEADER = ["残疾人证号", "身份证号", "姓名", "残疾类别", "残疾等级", "发证日期", "有效期至", "证件状态", "更新时间"]
TOPIC = "disabled-persons.certificates"


def certificate(**changes: Any) -> list[Any]:
    row = dict(zip(HEADER, [f"{HOLDER}42", HOLDER, "杨正华", "4", "2", date(2021, 6, 1), date(2031, 5, 31), "有效",
                            datetime(2026, 1, 7, 15, 0, 0)], strict=True))
    return list((row | changes).values())


def test_certificate_workbook_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """Real Excel date cells, digit or Chinese category and grade, and 长期 (no fixed term) map to the standard."""
    path = exports.xlsx("disabled_persons", "残疾人证.xlsx", HEADER, [
        certificate(),
        certificate(残疾人证号=f"{OTHER}11", 身份证号=OTHER, 残疾类别="视力", 残疾等级="一级", 有效期至="长期",
                    证件状态="注销"),
    ])
    stats = run_adapter("disabled_persons", path.parent)
    assert (stats.published, stats.rejected, stats.files_done) == (2, 0, 1)
    physical, visual = read_topic(bus, TOPIC)
    assert {k: v for k, v in physical.items() if k != "meta"} == {
        "resident_id": HOLDER, "certificate_number": f"{HOLDER}42", "disability_type": "PHYSICAL",
        "disability_grade": "TWO", "issued_date": date(2021, 6, 1), "valid_until": date(2031, 5, 31),
        "status": "VALID",
    }
    assert physical["meta"]["source_record_id"] == f"{HOLDER}42"
    assert physical["meta"]["source_department"] == "DISABLED_PERSONS_FEDERATION"
    assert (visual["disability_type"], visual["disability_grade"], visual["valid_until"], visual["status"]) == (
        "VISUAL", "ONE", None, "CANCELLED")


def test_certificate_csv_export_is_mapped_too(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """The same certificate exported as CSV with text dates gives the same record."""
    path = exports.csv("disabled_persons", "a.csv", HEADER,
                       [[f"{HOLDER}74", HOLDER, "杨正华", "多重", "四级", "2024-01-02", "", "过期",
                         "2026-01-07 15:00:00"]])
    assert run_adapter("disabled_persons", path.parent).published == 1
    [record] = read_topic(bus, TOPIC)
    assert (record["disability_type"], record["disability_grade"], record["valid_until"], record["status"]) == (
        "MULTIPLE", "FOUR", None, "EXPIRED")


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"残疾人证号": f"{OTHER}42"}, "inconsistent_certificate", f"is not the holder's ID number {HOLDER}"),
        ({"残疾人证号": f"{HOLDER}4"}, "inconsistent_certificate", "followed by the category and grade digits"),
        ({"残疾人证号": f"{HOLDER}43"}, "inconsistent_certificate",
         "ends in 43, which disagrees with 残疾类别 PHYSICAL "
                                                                   "and 残疾等级 TWO"),
        ({"残疾类别": "肢体", "残疾人证号": f"{HOLDER}52"}, "inconsistent_certificate", "ends in 52"),
        ({"残疾类别": "8"}, "unknown_code", "disability_type (残疾类别) has unknown code '8' (GB/T 26341-2010)"),
        ({"残疾等级": "五级"}, "unknown_code", "disability_grade (残疾等级) has unknown code '五级'"),
        ({"证件状态": "挂失"}, "unknown_code", "status (证件状态) has unknown code '挂失'"),
        ({"有效期至": date(2020, 1, 1)}, "invalid_date", "valid_until (有效期至) 2020-01-01 is before issued_date"),
        ({"发证日期": "2021.6.1"}, "invalid_date", "issued_date (发证日期) is not a date like 2024-01-31"),
        ({"身份证号": "5301241966021408"}, "invalid_resident_id", "resident_id (身份证号)"),
    ],
)
def test_bad_certificates_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus, changes: dict[str, Any],
                                              reason: str, detail: str) -> None:
    """Each broken certificate is a dead letter with its reason and a message a federation clerk can act on."""
    path = exports.xlsx("disabled_persons", "a.xlsx", HEADER, [certificate(), certificate(**changes)])
    stats = run_adapter("disabled_persons", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["origin"], letter["department"]) == (reason, "a.xlsx:3",
                                                                         "DISABLED_PERSONS_FEDERATION")
    assert detail in letter["detail"]
