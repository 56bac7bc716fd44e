"""The health adapters: chronic disease management (GB18030 CSV) and family doctor contracts (CSV or .xlsx)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from factories import read_topic

from exchange.bus import Bus
from exchange.identity import make_resident_id

PATIENT = make_resident_id("530124", date(1952, 8, 19), 65)
CHRONIC_HEADER = ["档案编号", "身份证号", "姓名", "疾病", "确诊日期", "管理机构", "末次随访日期", "管理状态",
                  "更新时间"]
DOCTOR_HEADER = ["签约编号", "身份证号", "姓名", "团队名称", "签约医生", "签约日期", "到期日期", "服务包", "更新时间"]


def chronic(**changes: str) -> list[str]:
    row = dict(zip(CHRONIC_HEADER, ["DA5301240001", PATIENT, "王秀珍", "高血压", "2019/04/12", "大营村卫生室",
                                    "2025/12/20", "在管", "2026-01-06 11:00:00"], strict=True))
    return list((row | changes).values())


def contract(**changes: Any) -> list[Any]:
    row = dict(zip(DOCTOR_HEADER, ["QY2025-0101", PATIENT, "王秀珍", "永定卫生院第一团队", "赵德明", "2025/03/01",
                                   "2026/02/28", "老年人包", "2026-01-06 11:00:00"], strict=True))
    return list((row | changes).values())


def test_chronic_disease_export_in_gb18030_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """The public-health system's GB18030 CSV is decoded; each disease of one patient file is its own record."""
    path = exports.csv("health/chronic_diseases", "慢病.csv", CHRONIC_HEADER,
                       [chronic(), chronic(疾病="2型糖尿病", 确诊日期="2021/1/5", 末次随访日期="", 管理状态="失访")],
                       encoding="gb18030")
    assert run_adapter("health_chronic_diseases", path.parent).published == 2
    hypertension, diabetes = read_topic(bus, "health.chronic-diseases")
    assert {k: v for k, v in hypertension.items() if k != "meta"} == {
        "resident_id": PATIENT, "disease": "HYPERTENSION", "diagnosed_date": date(2019, 4, 12),
        "managed_by": "大营村卫生室", "last_follow_up_date": date(2025, 12, 20), "status": "UNDER_MANAGEMENT",
    }
    assert (diabetes["disease"], diabetes["diagnosed_date"], diabetes["last_follow_up_date"], diabetes["status"]) == (
        "TYPE_2_DIABETES", date(2021, 1, 5), None, "LOST_TO_FOLLOW_UP")
    assert [r["meta"]["source_record_id"] for r in (hypertension, diabetes)] == [
        "DA5301240001/HYPERTENSION", "DA5301240001/TYPE_2_DIABETES"]
    assert hypertension["meta"]["source_department"] == "HEALTH"


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"疾病": "冠心病"}, "unknown_code", "disease (疾病) has unknown code '冠心病'"),
        ({"管理状态": "死亡"}, "unknown_code", "status (管理状态) has unknown code '死亡'"),
        ({"确诊日期": "2019.04.12"}, "invalid_date", "diagnosed_date (确诊日期) is not a date like 2024/01/31"),
        ({"末次随访日期": "2018/01/01"}, "invalid_date", "last_follow_up_date (末次随访日期) 2018-01-01 is before"),
        ({"管理机构": ""}, "missing_field", "managed_by (管理机构) is empty"),
        ({"身份证号": PATIENT[:17]}, "invalid_resident_id", "resident_id (身份证号)"),
    ],
)
def test_bad_chronic_disease_rows_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus,
                                                      changes: dict[str, str], reason: str, detail: str) -> None:
    """Each broken row is a dead letter whose message names the field, its column and the value."""
    path = exports.csv("health/chronic_diseases", "a.csv", CHRONIC_HEADER, [chronic(), chronic(**changes)],
                       encoding="gb18030")
    stats = run_adapter("health_chronic_diseases", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["origin"], letter["department"]) == (reason, "a.csv:3", "HEALTH")
    assert detail in letter["detail"]


def test_family_doctor_contract_is_mapped(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """A contract row becomes a FamilyDoctorContract numbered by its 签约编号, with the package's standard value."""
    path = exports.csv("health/family_doctors", "签约.csv", DOCTOR_HEADER, [contract()])
    assert run_adapter("health_family_doctors", path.parent).published == 1
    [record] = read_topic(bus, "health.family-doctor-contracts")
    assert {k: v for k, v in record.items() if k != "meta"} == {
        "resident_id": PATIENT, "team_name": "永定卫生院第一团队", "doctor_name": "赵德明",
        "signed_date": date(2025, 3, 1), "expiry_date": date(2026, 2, 28), "service_package": "ELDERLY",
    }
    assert record["meta"]["source_record_id"] == "QY2025-0101"


def test_family_doctor_workbook_with_real_date_cells_is_read(exports: Any, run_adapter: Any, bus: Bus) -> None:
    """Excel date cells read as YYYY-MM-DD, and still parse where the department's CSV writes YYYY/MM/DD."""
    path = exports.xlsx("health/family_doctors", "签约.xlsx", DOCTOR_HEADER, [
        contract(签约日期=date(2025, 3, 1), 到期日期=datetime(2026, 2, 28), 更新时间=datetime(2026, 1, 6, 11, 0, 0)),
    ])
    stats = run_adapter("health_family_doctors", path.parent)
    assert (stats.published, stats.rejected) == (1, 0)
    [record] = read_topic(bus, "health.family-doctor-contracts")
    assert (record["signed_date"], record["expiry_date"]) == (date(2025, 3, 1), date(2026, 2, 28))
    assert record["meta"]["event_time"].isoformat() == "2026-01-06T03:00:00+00:00"


@pytest.mark.parametrize(
    ("changes", "reason", "detail"),
    [
        ({"到期日期": "2025/02/28"}, "invalid_date",
         "expiry_date (到期日期) 2025-02-28 is before signed_date 2025-03-01"),
        ({"服务包": "高血压包"}, "unknown_code", "service_package (服务包) has unknown code '高血压包'"),
        ({"签约医生": "赵医生2"}, "invalid_name", "doctor_name (签约医生)"),
        ({"团队名称": ""}, "missing_field", "team_name (团队名称) is empty"),
    ],
)
def test_bad_contract_rows_become_dead_letters(exports: Any, run_adapter: Any, bus: Bus, changes: dict[str, str],
                                               reason: str, detail: str) -> None:
    """Each broken contract is a dead letter whose message names the field and its column."""
    path = exports.csv("health/family_doctors", "a.csv", DOCTOR_HEADER, [contract(), contract(**changes)])
    stats = run_adapter("health_family_doctors", path.parent)
    assert (stats.published, stats.rejected) == (1, 1)
    [letter] = read_topic(bus, "exchange.dead-letters")
    assert (letter["reason"], letter["target_topic"]) == (reason, "health.family-doctor-contracts")
    assert detail in letter["detail"]
