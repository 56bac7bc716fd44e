"""Dirty data of every department's export: re-validating the files by the rules of adapters/README.md
finds exactly the dirt the manifest declares, and what a correct adapter must dead-letter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from township_files import AS_OF, Row, folder_rows, newest_valid, sql_rows

from exchange.errors import ValidationError
from exchange.identity import parse_resident_id
from exchange.township import TownshipManifest, generate_township

Check = Callable[[Row], "str | None"]

# Which kind of dirt each README reject reason stands for, and which reasons a kind may give.
REASONS = {"bad_check_digit": "invalid_resident_id", "impossible_birth_date": "invalid_resident_id",
           "inconsistent_certificate": "inconsistent_certificate", "invalid_grade": "invalid_grade"}
README_REASONS = {"invalid_resident_id", "unknown_code", "missing_field", "invalid_date", "invalid_amount",
                  "inconsistent_certificate", "invalid_grade"}


# -- the README's rules, one checker per source ----------------------------------------------------------

def id_fault(value: Any) -> str | None:
    if value in (None, ""):
        return "missing_id"
    try:
        parse_resident_id(value, today=AS_OF)
    except ValidationError as exc:
        return "bad_check_digit" if "check digit is" in str(exc) else "impossible_birth_date"
    return None


def not_a_date(value: Any, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except (TypeError, ValueError):
        return True
    return False


def not_an_amount(value: Any) -> bool:
    if value in (None, ""):
        return False  # empty is allowed where an amount may be missing
    try:
        Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return True
    return False


def first(*checks: tuple[bool, str]) -> str | None:
    return next((kind for failed, kind in checks if failed), None)


def deaths_fault(row: Row) -> str | None:
    return first((id_fault(row["gmsfhm"]) is not None, "bad_check_digit"), (not row["swrq"], "missing_death_date"),
                 (row["swyydm"] not in {"1", "2", "8", "9"}, "unknown_death_cause"),
                 (not_a_date(row["swrq"], "%Y%m%d"), "invalid_death_date"))


def households_fault(row: Row) -> str | None:
    return first((id_fault(row["hzgmsfhm"]) is not None, "bad_check_digit"),
                 (not row["hh"], "missing_household_number"),
                 (row["hlbdm"] not in {"1", "2"}, "unknown_household_type"))


def members_fault(row: Row) -> str | None:
    relation = row["yhzgxdm"]
    return first((id_fault(row["gmsfhm"]) is not None, "bad_check_digit"),
                 (not row["hh"], "missing_household_number"),
                 (not (len(relation) == 2 and relation.isdigit()), "unknown_relationship"),
                 (not_a_date(row["qrrq"], "%Y%m%d"), "invalid_move_in_date"))


def pensions_fault(row: Row) -> str | None:
    return first((id_fault(row["sfzhm"]) is not None, id_fault(row["sfzhm"]) or ""),
                 (row["xzlx"] not in {"110", "170"}, "unknown_scheme"),
                 (not_an_amount(row["yljje"]), "malformed_amount"),
                 (not_a_date(row["ksrq"], "%Y%m%d"), "invalid_start_date"))


def funerals_fault(row: Row) -> str | None:
    broken = not_a_date(row["死亡日期"], "%Y-%m-%d")
    return first((id_fault(row["身份证号"]) is not None, id_fault(row["身份证号"]) or ""),
                 (broken, "invalid_death_date"),
                 (not broken and row["火化日期"] < row["死亡日期"], "cremation_before_death"))


def chronic_fault(row: Row) -> str | None:
    return first((id_fault(row["身份证号"]) is not None, id_fault(row["身份证号"]) or ""),
                 (row["管理状态"] not in {"在管", "失访", "结案"}, "unknown_status"),
                 (not_a_date(row["确诊日期"], "%Y/%m/%d"), "invalid_diagnosis_date"))


def doctors_fault(row: Row) -> str | None:
    packages = {"基础包", "老年人包", "慢病包", "残疾人包", "妇幼包", "其他"}
    return first((id_fault(row["身份证号"]) is not None, id_fault(row["身份证号"]) or ""),
                 (row["服务包"] not in packages, "unknown_package"),
                 (row["到期日期"] < row["签约日期"], "expiry_before_signing"))


def certificates_fault(row: Row) -> str | None:
    number = row["残疾人证号"]
    consistent = number == row["身份证号"] + row["残疾类别"] + row["残疾等级"]
    return first((id_fault(row["身份证号"]) is not None, "bad_check_digit"),
                 (not consistent, "inconsistent_certificate"), (not row["证件状态"], "missing_status"),
                 (row["证件状态"] not in {"有效", "注销", "过期"}, "unknown_status"),
                 (not_a_date(row["发证日期"], "%Y-%m-%d"), "invalid_issue_date"))


def enrolments_fault(row: Row) -> str | None:
    return first((id_fault(row["身份证号"]) is not None, id_fault(row["身份证号"]) or ""),
                 (row["学籍状态"] not in {"在读", "休学", "辍学", "毕业", "转出"}, "unknown_status"),
                 (row["年级"] not in [str(grade) for grade in range(1, 10)], "invalid_grade"))


def monitoring_fault(row: Row) -> str | None:
    return first((id_fault(row["户主身份证号"]) is not None, "bad_check_digit"),
                 (not row["户编号"], "missing_household_number"),
                 (row["监测状态"] not in {"监测中", "风险已消除", "终止监测"}, "unknown_status"),
                 (not_a_date(row["识别日期"], "%Y-%m-%d"), "invalid_identified_date"),
                 (not_an_amount(row["家庭人均纯收入"]), "malformed_income"))


def assistance_fault(row: Row) -> str | None:
    return first((id_fault(row["身份证号"]) is not None, "bad_check_digit"),
                 (row["救助类别"] not in {"低保", "特困供养", "高龄津贴"}, "unknown_programme"),
                 (not_an_amount(row["月发放金额"]), "malformed_amount"))


# source: (read the rows, check a row, record id of a drop-folder row or None for a SQL table)
SOURCES: dict[str, tuple[Callable[[Path], list[Row]], Check, Callable[[Row], str] | None]] = {
    "public_security_households": (lambda out: sql_rows(out, "public_security.db", "hjxx_hxx"), households_fault, None),
    "public_security_members": (lambda out: sql_rows(out, "public_security.db", "hjxx_hcybd"), members_fault, None),
    "public_security_deaths": (lambda out: sql_rows(out, "public_security.db", "hjxx_swzx"), deaths_fault, None),
    "human_resources": (lambda out: sql_rows(out, "human_resources.db", "yl_cbxx"), pensions_fault, None),
    "civil_affairs": (lambda out: folder_rows(out, "civil_affairs/assistance"), assistance_fault,
                      lambda row: row["记录编号"]),
    "civil_affairs_funerals": (lambda out: folder_rows(out, "civil_affairs/funerals"), funerals_fault,
                               lambda row: row["火化证编号"]),
    "health_chronic_diseases": (lambda out: folder_rows(out, "health/chronic_diseases"), chronic_fault,
                                lambda row: row["档案编号"] + row["疾病"]),
    "health_family_doctors": (lambda out: folder_rows(out, "health/family_doctors"), doctors_fault,
                              lambda row: row["签约编号"]),
    "disabled_persons": (lambda out: folder_rows(out, "disabled_persons"), certificates_fault,
                         lambda row: row["残疾人证号"]),
    "education": (lambda out: folder_rows(out, "education"), enrolments_fault,
                  lambda row: row["全国学籍号"] + row["学校标识码"] + row["学年"]),
    "agriculture": (lambda out: folder_rows(out, "agriculture"), monitoring_fault, lambda row: row["户编号"]),
}


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    # Large and dirty enough that every kind of every source occurs, even in the small sources.
    out = tmp_path_factory.mktemp("dirty")
    return out, generate_township(out, 20_000, seed=11, as_of=AS_OF, dirty_rate=0.4)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_dirty_counts_match_the_files(dirty, source):
    """Re-validating every row finds exactly the dirt the manifest declares, and every kind occurs."""
    out, manifest = dirty
    read, check, record_id = SOURCES[source]
    rows = read(out)
    assert len(rows) == manifest.counts[source]
    found = Counter(check(row) for row in rows)
    del found[None]
    rejects = found.total()
    if record_id is not None:
        found += newest_valid(rows, check, record_id)[1]
    assert found == Counter(manifest.dirty[source])
    assert set(found) == set(manifest.dirty[source])  # every kind occurs
    assert rejects == manifest.expected_rejects[source] > 0


def test_expected_reasons_are_the_readme_reasons_of_the_rejects(dirty):
    """expected_reasons splits each source's rejects by the reasons adapters/README.md gives."""
    _, manifest = dirty
    for source, reasons in manifest.expected_reasons.items():
        assert set(reasons) <= README_REASONS, source
        assert sum(reasons.values()) == manifest.expected_rejects[source], source
        kinds = manifest.dirty[source]
        for kind, reason in REASONS.items():
            if kinds.get(kind):
                assert reasons[reason] >= kinds[kind], (source, kind)
        missing = sum(n for kind, n in kinds.items() if kind.startswith("missing"))
        assert reasons.get("missing_field", 0) == missing, source
    assert manifest.expected_reasons["disabled_persons"]["inconsistent_certificate"] > 0
    assert manifest.expected_reasons["education"]["invalid_grade"] > 0


def test_rows_of_boundary_residents_are_never_spoiled(dirty):
    """The three boundary residents' rows are clean in every source, so tests about them stay exact."""
    out, manifest = dirty
    ids = set(manifest.boundary_residents.values())
    checked = 0
    for read, check, _ in SOURCES.values():
        for row in read(out):
            if ids & {value for value in row.values() if isinstance(value, str)}:
                assert check(row) is None, row
                checked += 1
    assert checked >= 6  # households, memberships, pensions... of three people
