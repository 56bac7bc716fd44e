"""The departments of the synthetic township agreeing about the same residents: the register, deaths,
welfare, disability, health, education and agriculture, checked from the files with an independent reader
(``township_files``); ``test_township_layouts.py`` checks the files' layouts."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from township_files import AS_OF, folder_rows, sql_rows

from exchange.identity import age_on, parse_resident_id
from exchange.township import TownshipManifest, generate_township

SCHOOL_YEAR = date(2025, 9, 1)


# -- dates as the files write them; fixtures -------------------------------------------------------------

def day(text: str) -> date:
    return date.fromisoformat(text.replace("/", "-")) if "-" in text or "/" in text else \
        datetime.strptime(text, "%Y%m%d").date()


def birth(number: str) -> date:
    return parse_resident_id(number, today=AS_OF).birth_date


def anniversary(start: date, years: int) -> date:
    """The same day ``years`` later (29 February → 1 March)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    """10,000 residents without dirt, so every fact is visible in the files."""
    out = tmp_path_factory.mktemp("town")
    return out, generate_township(out, 10_000, seed=7, as_of=AS_OF, dirty_rate=0.0)


@pytest.fixture(scope="module")
def register(town: tuple[Path, TownshipManifest]) -> dict[str, dict[str, Any]]:
    return {row["gmsfhm"]: row for row in sql_rows(town[0], "public_security.db", "hjxx_czrk")}


@pytest.fixture(scope="module")
def funeral_only(town: tuple[Path, TownshipManifest], register: dict[str, dict[str, Any]]) -> dict[str, date]:
    """ID → death date of the deaths only civil affairs knows of (funeral row, register still active)."""
    return {row["身份证号"]: day(row["死亡日期"]) for row in folder_rows(town[0], "civil_affairs/funerals")
            if register[row["身份证号"]]["ryzt"] == "0"}


# -- the register ----------------------------------------------------------------------------------------

def test_households_match_their_members(town, register):
    """One hjxx_hxx row per household: its head, its members still registered, its address in parts."""
    out, manifest = town
    households = sql_rows(out, "public_security.db", "hjxx_hxx")
    assert len(households) == manifest.households == len({row["hh"] for row in register.values()})
    members = defaultdict(list)
    for row in register.values():
        members[row["hh"]].append(row)
    for household in households:
        people = members[household["hh"]]
        head = next(row for row in people if row["yhzgxdm"] == "02")
        assert household["hzgmsfhm"] == head["gmsfhm"]
        assert household["hrs"] == sum(row["ryzt"] == "0" for row in people)
        parts = [household[f"ssxq_{part}"] for part in ("sheng", "shi", "xian", "xiang", "cun")]
        assert "".join(parts) + household["xxdz"] == head["zz"]
        assert (household["xzqhdm"], household["wgdm"]) == (head["xzqhdm"], head["wgdm"])
        assert household["gxsj"] == max(row["gxsj"] for row in people)
    kinds = Counter(row["hlbdm"] for row in households)
    assert set(kinds) == {"1", "2"}
    assert kinds["2"] == manifest.cross_department.collective_households < kinds["1"] / 50


def test_memberships_say_when_each_resident_joined_and_left(town, register, funeral_only):
    """One hjxx_hcybd row per resident: born into or moved in, and out on moving away or a registered death."""
    out, _ = town
    memberships = sql_rows(out, "public_security.db", "hjxx_hcybd")
    assert sorted(row["gmsfhm"] for row in memberships) == sorted(register)
    deaths = {row["gmsfhm"]: row["swrq"] for row in sql_rows(out, "public_security.db", "hjxx_swzx")}
    born_into = 0
    for row in memberships:
        resident = register[row["gmsfhm"]]
        assert (row["hh"], row["yhzgxdm"]) == (resident["hh"], resident["yhzgxdm"])
        assert resident["csrq"] <= row["qrrq"] < AS_OF.strftime("%Y%m%d")
        assert (row["qcrq"] is not None) == (resident["ryzt"] != "0")
        if row["qcrq"] is not None:
            assert row["qrrq"] <= row["qcrq"] <= row["gxsj"][:10].replace("-", "")
        if resident["ryzt"] == "2":
            assert row["qcrq"] == deaths[row["gmsfhm"]]
        born_into += row["qrrq"] == resident["csrq"]
    assert born_into > len(memberships) / 5  # the children
    assert all(register[number]["ryzt"] == "0" for number in funeral_only)


# -- deaths ----------------------------------------------------------------------------------------------

def test_every_registered_death_has_a_cancellation_and_most_a_funeral(town, register, funeral_only):
    """Registered deaths have one hjxx_swzx row and ~90% a funeral with the same death date, cremated 1-5
    days later; a few recent deaths are known only to civil affairs."""
    out, manifest = town
    deaths = {row["gmsfhm"]: row for row in sql_rows(out, "public_security.db", "hjxx_swzx")}
    assert sorted(deaths) == sorted(number for number, row in register.items() if row["ryzt"] == "2")
    funerals = {row["身份证号"]: row for row in folder_rows(out, "civil_affairs/funerals")}
    for number, funeral in funerals.items():
        died, cremated = day(funeral["死亡日期"]), day(funeral["火化日期"])
        assert 1 <= (cremated - died).days <= 5
        if number in deaths:
            assert died == day(deaths[number]["swrq"])
    for row in deaths.values():
        assert row["swyydm"] in {"1", "2", "8", "9"}
        assert row["swrq"] <= row["gxsj"][:10].replace("-", "")
        assert row["zxrq"] is None or row["swrq"] <= row["zxrq"] <= row["gxsj"][:10].replace("-", "")
    truths = manifest.cross_department
    with_funeral = len(funerals.keys() & deaths.keys())
    assert (truths.deaths_registered, truths.deaths_with_funeral) == (len(deaths), with_funeral)
    assert 0.8 < with_funeral / len(deaths) < 0.97
    assert truths.deaths_only_civil_affairs == truths.expected_death_notices == len(funeral_only) > 0
    assert len(funeral_only) < len(deaths) / 5
    assert all(timedelta(days=7) < AS_OF - died <= timedelta(days=60) for died in funeral_only.values())


def test_benefits_of_the_dead_end_after_the_death_or_keep_paying(town, register, funeral_only):
    """Assistance and pensions of dead residents end after the death, or still run (what notices are for)."""
    out, manifest = town
    deaths = {row["gmsfhm"]: day(row["swrq"]) for row in sql_rows(out, "public_security.db", "hjxx_swzx")}
    deaths |= funeral_only
    assistance = [row for row in folder_rows(out, "civil_affairs/assistance") if row["身份证号"] in deaths]
    ended = [row for row in assistance if row["状态"] == "已停发"]
    assert all(day(row["结束日期"]) >= deaths[row["身份证号"]] for row in ended)
    assert all(row["状态"] == "已停发" for row in assistance if row["身份证号"] in funeral_only)
    pensions = [row for row in sql_rows(out, "human_resources.db", "yl_cbxx") if row["sfzhm"] in deaths]
    terminated = sum(row["cbzt"] == "4" for row in pensions)
    truths = manifest.cross_department
    assert (truths.assistance_ended_after_death, truths.assistance_open_after_death) == (
        len(ended), len(assistance) - len(ended))
    assert (truths.pensions_terminated_after_death, truths.pensions_open_after_death) == (
        terminated, len(pensions) - terminated)
    assert 0 < terminated < len(pensions)


# -- welfare ---------------------------------------------------------------------------------------------

def test_pensions_are_paid_from_retirement_age_only(town, register):
    """RECEIVING rows start at 60 (55 for women employees) with an amount; 16-59 mostly pay in."""
    out, _ = town
    pensions = sql_rows(out, "human_resources.db", "yl_cbxx")
    amounts: dict[str, list[Decimal]] = defaultdict(list)
    for row in pensions:
        born = birth(row["sfzhm"])
        started = age_on(born, day(row["ksrq"]))
        assert started >= 16
        assert (row["yljje"] is not None) == (row["cbzt"] == "2")
        if row["cbzt"] == "2":
            female_employee = row["xzlx"] == "110" and register[row["sfzhm"]]["xbdm"] == "2"
            assert started >= (55 if female_employee else 60)
            amounts[row["xzlx"]].append(Decimal(row["yljje"]))
    assert max(amounts["170"]) < min(amounts["110"])
    assert len(amounts["170"]) > 4 * len(amounts["110"])
    active = {number: age_on(birth(number), AS_OF) for number, row in register.items() if row["ryzt"] == "0"}
    receiving = {row["sfzhm"] for row in pensions if row["cbzt"] == "2"}
    paying = {row["sfzhm"] for row in pensions if row["cbzt"] == "1"}
    old = {number for number, age in active.items() if age >= 60}
    working = {number for number, age in active.items() if 16 <= age < 60}
    assert len(old & receiving) / len(old) > 0.85
    assert 0.6 < len(working & paying) / len(working) < 0.8
    assert not {number for number, age in active.items() if age < 16} & (receiving | paying)


def test_assistance_addresses_mostly_match_the_register(town, register):
    """Most assistance rows carry the registered address, some another address in the township, some none."""
    out, manifest = town
    rows = folder_rows(out, "civil_affairs/assistance")
    same = sum(row["居住地址"] == register[row["身份证号"]]["zz"] for row in rows)
    empty = sum(row["居住地址"] == "" for row in rows)
    elsewhere = [row["居住地址"] for row in rows if row["居住地址"] not in ("", register[row["身份证号"]]["zz"])]
    assert same > 0.75 * len(rows)
    assert manifest.cross_department.assistance_address_unknown == empty > 0
    assert manifest.cross_department.assistance_address_conflicts == len(elsewhere) > 0
    assert all(re.fullmatch(r"云南省昆明市富民县永定街道\w+村委会\w+组\d+号", address) for address in elsewhere)


# -- disability, health, education, agriculture ----------------------------------------------------------

def test_certificate_numbers_are_the_id_category_and_grade(town, register):
    """Every certificate number is ID + category + grade; ~6% hold one, more of the old; superseded ones cancelled."""
    out, manifest = town
    rows = folder_rows(out, "disabled_persons")
    for row in rows:
        assert row["残疾人证号"] == row["身份证号"] + row["残疾类别"] + row["残疾等级"]
        assert row["残疾类别"] in "1234567"
        assert row["残疾等级"] in "1234"
        assert day(row["发证日期"]) < day(row["有效期至"])
        if row["证件状态"] != "注销":
            assert (row["证件状态"] == "有效") == (day(row["有效期至"]) >= AS_OF)
    holders = {row["身份证号"] for row in rows}
    assert 0.05 < len(holders) / len(register) < 0.075
    ages = {number: age_on(birth(number), AS_OF) for number in register}
    old = [number for number, age in ages.items() if age >= 80]
    young = [number for number, age in ages.items() if 15 <= age < 45]
    assert len(holders.intersection(old)) / len(old) > 3 * len(holders.intersection(young)) / len(young)
    by_holder = defaultdict(list)
    for row in rows:
        by_holder[row["身份证号"]].append(row)
    superseded = [sorted(certs, key=lambda row: row["发证日期"]) for certs in by_holder.values() if len(certs) > 1]
    assert all(certs[0]["证件状态"] == "注销" and certs[0]["残疾等级"] != certs[1]["残疾等级"] for certs in superseded)
    assert len(superseded) == manifest.cross_department.disability_certificates_superseded > 0


def test_chronic_disease_shares_rise_with_age(town, register):
    """Hypertension ~25% of those 35+ rising with age, type-2 diabetes ~8%, a few mental disorders and TB."""
    out, manifest = town
    rows = folder_rows(out, "health/chronic_diseases")
    by_disease = defaultdict(set)
    for row in rows:
        by_disease[row["疾病"]].add(row["身份证号"])
        assert row["档案编号"].startswith(register[row["身份证号"]]["hh"])
        assert len(row["档案编号"]) == 17
        assert day(row["确诊日期"]) <= day(row["末次随访日期"]) < AS_OF
    ages = {number: age_on(birth(number), AS_OF) for number, row in register.items() if row["ryzt"] == "0"}
    adults = {number for number, age in ages.items() if age >= 35}
    assert 0.2 < len(by_disease["高血压"] & adults) / len(adults) < 0.32
    assert 0.05 < len(by_disease["2型糖尿病"] & adults) / len(adults) < 0.11
    younger = {number for number, age in ages.items() if 35 <= age < 45}
    older = {number for number, age in ages.items() if age >= 65}
    assert len(by_disease["高血压"] & older) / len(older) > 2 * len(by_disease["高血压"] & younger) / len(younger)
    truths = manifest.cross_department
    counts = Counter(row["疾病"] for row in rows)
    assert (truths.chronic_hypertension, truths.chronic_type_2_diabetes, truths.chronic_severe_mental_disorder) == (
        counts["高血压"], counts["2型糖尿病"], counts["严重精神障碍"])
    assert 0 < counts["严重精神障碍"] < counts["2型糖尿病"]


def test_family_doctor_packages_follow_the_person(town, register, funeral_only):
    """~40% have a contract, ~75% of 65+; the package follows age at signing, chronic care and certificates."""
    out, manifest = town
    dead = {number for number, row in register.items() if row["ryzt"] == "2"} | funeral_only.keys()
    chronic = folder_rows(out, "health/chronic_diseases")
    patients = {row["身份证号"] for row in chronic if row["管理状态"] == "在管"} - dead
    certified = {row["身份证号"] for row in folder_rows(out, "disabled_persons") if row["证件状态"] == "有效"} - dead
    rows = folder_rows(out, "health/family_doctors")
    for row in rows:
        signed, expires = day(row["签约日期"]), day(row["到期日期"])
        assert expires + timedelta(days=1) in (anniversary(signed, 1), anniversary(signed, 3))
        age = age_on(birth(row["身份证号"]), signed)
        number = row["身份证号"]
        expected = "妇幼包" if age < 7 else "老年人包" if age >= 65 else "慢病包" if number in patients else \
            "残疾人包" if number in certified else "基础包"
        assert row["服务包"] == expected, row
    assert set(Counter(row["服务包"] for row in rows)) == {"妇幼包", "老年人包", "慢病包", "残疾人包", "基础包"}
    signed = {row["身份证号"] for row in rows}
    active = {number: age_on(birth(number), AS_OF) for number, row in register.items() if row["ryzt"] == "0"}
    old = {number for number, age in active.items() if age >= 65}
    assert 0.35 < len(signed & active.keys()) / len(active) < 0.5
    assert 0.65 < len(signed & old) / len(old) < 0.85
    assert len(rows) == manifest.cross_department.family_doctor_contracts


def expected_stage(born: date, year_start: date) -> tuple[set[str], int]:
    age = age_on(born, year_start - timedelta(days=1))
    if age < 6:
        return {"学前"}, max(1, age - 2)
    if age < 12:
        return {"小学"}, age - 5
    if age < 15:
        return {"初中"}, age - 11
    return ({"高中", "中职"}, age - 14) if age < 18 else ({"高等"}, 1)


def test_every_child_is_enrolled_at_the_stage_of_their_age(town, register):
    """Residents aged 3-18 have one enrolment each, in the stage and grade of their age on 31 August."""
    out, manifest = town
    rows = {row["身份证号"]: row for row in folder_rows(out, "education")}
    children = {number for number, row in register.items()
                if row["ryzt"] != "2" and 3 <= age_on(birth(number), AS_OF) <= 18}
    assert set(rows) == children
    for number, row in rows.items():
        assert row["全国学籍号"] == "G" + number
        assert re.fullmatch(r"\d{10}", row["学校标识码"])
        assert row["是否寄宿"] in ("是", "否")
        if row["学籍状态"] == "毕业":  # left senior school last summer
            assert (row["学年"], row["学段"], row["年级"]) in {("2024-2025", "高中", "3"), ("2024-2025", "中职", "3")}
            continue
        stages, grade = expected_stage(birth(number), SCHOOL_YEAR)
        assert (row["学年"], row["年级"]) == ("2025-2026", str(grade)), row
        assert row["学段"] in stages, row
        assert row["学籍状态"] == ("转出" if register[number]["ryzt"] == "1" else row["学籍状态"])
    statuses = Counter(row["学籍状态"] for row in rows.values())
    assert statuses["在读"] == manifest.cross_department.pupils_enrolled > 0.95 * len(rows)
    assert statuses["休学"] > 0


def test_monitored_households_have_the_risks_their_members_show(town, register, funeral_only):
    """~3% of households are monitored; 因病 / 因残 appear exactly where a present member is a patient / holder."""
    out, manifest = town
    present = {number for number, row in register.items() if row["ryzt"] == "0"} - funeral_only.keys()
    patients = {row["身份证号"] for row in folder_rows(out, "health/chronic_diseases") if row["管理状态"] == "在管"}
    certified = {row["身份证号"] for row in folder_rows(out, "disabled_persons") if row["证件状态"] == "有效"}
    members = defaultdict(set)
    for number in present:
        members[register[number]["hh"]].add(number)
    heads = {row["hh"]: row["gmsfhm"] for row in register.values() if row["yhzgxdm"] == "02"}
    rows = folder_rows(out, "agriculture")
    assert 0.015 < len(rows) / manifest.households < 0.05
    assert len(rows) == len({row["户编号"] for row in rows}) == manifest.cross_department.monitored_households
    for row in rows:
        risks = row["风险类型"].split("、")
        household = members[row["户编号"]]
        assert row["户主身份证号"] == heads[row["户编号"]]
        assert ("因病" in risks) == bool(household & patients), row
        assert ("因残" in risks) == bool(household & certified), row
        assert row["监测状态"] in {"监测中", "风险已消除", "终止监测"}
        assert day(row["识别日期"]) <= day(row["最近走访日期"]) < AS_OF
    assert Counter(row["风险类型"].split("、")[0] for row in rows).most_common(1)[0][0] == "因病"
