"""The synthetic township generator, checked from its output files with an independent validator.

This file covers the household register (hjxx_czrk), civil affairs' assistance export, determinism and
scale; ``test_township_layouts.py`` the layouts of the other exports, ``test_township_departments.py`` how
the departments agree and ``test_township_dirt.py`` the dirt of every export. ``township_files`` reads them.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
import time
from collections import Counter
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from township_files import AS_OF, Row, folder_rows, newest_valid, sql_rows, sql_schema

from exchange.errors import ConfigError, ValidationError
from exchange.identity import age_on, parse_resident_id
from exchange.township import TownshipManifest, generate_township

# Every file of a small township, as adapters/README.md places them.
OUTPUTS = ("public_security.db", "human_resources.db", "civil_affairs/assistance/assistance.csv",
           "civil_affairs/funerals/funerals.xlsx", "health/chronic_diseases/chronic_diseases.csv",
           "health/family_doctors/family_doctors.csv", "disabled_persons/certificates.xlsx",
           "education/enrolments.csv", "agriculture/monitoring.xlsx", "township.json")
ASSISTANCE_DIR = "civil_affairs/assistance"
# The export contract, spelled out here rather than imported, so a change to the writer fails this test.
HEADER = ["记录编号", "身份证号", "姓名", "救助类别", "状态", "开始日期", "结束日期", "月发放金额",
          "更新时间", "居住地址"]
REGISTER_COLUMNS = ["id", "gmsfhm", "xm", "xbdm", "mzdm", "csrq", "hh", "yhzgxdm", "zz", "xzqhdm", "wgdm",
                    "ryzt", "gxsj"]
# sha256 of repr(SELECT * FROM hjxx_czrk ORDER BY id) for 300 residents, seed 7, as of AS_OF, no dirt:
# the register of the first generator version, which adding departments must not change.
REGISTER_DIGEST = "926fad5a2ebb750283fcd40ce1e60f1e76b7e40164a881e993e960d7018d3289"
PROGRAMMES = {"低保", "特困供养", "高龄津贴"}
STATUSES = {"享受中", "暂停", "已停发"}


# -- reading (township_files) and an independent validator -----------------------------------------------

def read_register(out: Path) -> list[Row]:
    """The hjxx_czrk rows in id order."""
    return sql_rows(out, "public_security.db", "hjxx_czrk")


def read_assistance(out: Path) -> list[Row]:
    """The assistance rows of every file of the drop folder."""
    return folder_rows(out, ASSISTANCE_DIR)


def all_files(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` by relative path."""
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


def id_fault(number: str) -> str | None:
    try:
        parse_resident_id(number, today=AS_OF)
    except ValidationError as exc:
        if "check digit is" in str(exc):
            return "bad_check_digit"
        if "not a calendar date" in str(exc):
            return "impossible_birth_date"
        return f"unexpected: {exc}"
    return None


def register_fault(row: dict[str, object]) -> str | None:
    fault = id_fault(str(row["gmsfhm"]))
    if fault:
        return fault
    if not row["xm"]:
        return "missing_name"
    if row["xbdm"] not in ("1", "2"):
        return "unknown_sex_code"
    return None


def assistance_fault(row: dict[str, str]) -> str | None:
    fault = id_fault(row["身份证号"])
    if fault:
        return fault
    if row["救助类别"] not in PROGRAMMES:
        return "unknown_programme"
    if not re.fullmatch(r"\d+\.\d{2}", row["月发放金额"]):
        return "malformed_amount"
    return None


def newest_valid_records(rows: list[Row]) -> tuple[dict[str, Row], Counter[str]]:
    """Newest 更新时间 per record number among valid rows, and a count of duplicate / late rows seen."""
    return newest_valid(rows, assistance_fault, lambda row: row["记录编号"])


def birth_of(row: dict[str, object]) -> date:
    return datetime.strptime(str(row["csrq"]), "%Y%m%d").date()


# -- fixtures --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def township(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    out = tmp_path_factory.mktemp("township")
    return out, generate_township(out, 2000, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def dirty_township(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    # A high rate, so every kind of dirt occurs often enough to count in a small township.
    out = tmp_path_factory.mktemp("dirty")
    return out, generate_township(out, 5000, seed=11, as_of=AS_OF, dirty_rate=0.2)


# -- determinism -----------------------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(tmp_path):
    """Two runs with the same seed, as_of and parameters write byte-identical files, spreadsheets included."""
    first = generate_township(tmp_path / "a", 2000, seed=3, as_of=AS_OF)
    time.sleep(1.1)  # workbooks and zip entries carry times to the second: a run later must not change them
    second = generate_township(tmp_path / "b", 2000, seed=3, as_of=AS_OF)
    assert first == second
    files = all_files(tmp_path / "a")
    assert sorted(files) == sorted(OUTPUTS)
    assert files == all_files(tmp_path / "b")


def test_rerun_into_the_same_directory_overwrites_identically(tmp_path):
    """Generating again into a used directory replaces the files with identical ones, and only those."""
    generate_township(tmp_path, 300, seed=3, as_of=AS_OF)
    before = all_files(tmp_path)
    legacy = tmp_path / "civil_affairs" / "assistance.csv"  # where the first version wrote assistance
    legacy.write_text("old\n", encoding="utf-8")
    (tmp_path / "education" / "enrolments-002.csv").write_text("a part of a larger run\n", encoding="utf-8")
    generate_township(tmp_path, 300, seed=3, as_of=AS_OF)
    assert all_files(tmp_path) == before


def test_different_seed_gives_different_files(tmp_path):
    """A different seed gives different residents."""
    generate_township(tmp_path / "a", 500, seed=1, as_of=AS_OF)
    generate_township(tmp_path / "b", 500, seed=2, as_of=AS_OF)
    first, second = all_files(tmp_path / "a"), all_files(tmp_path / "b")
    for name in OUTPUTS:
        assert first[name] != second[name], name


def test_the_register_of_a_seed_is_the_same_as_before_the_other_departments(tmp_path):
    """A seed's residents and hjxx_czrk rows are those the first generator version wrote (pinned digest)."""
    generate_township(tmp_path, 300, seed=7, as_of=AS_OF, dirty_rate=0.0)
    with closing(sqlite3.connect(tmp_path / "public_security.db")) as conn:
        rows = conn.execute("SELECT * FROM hjxx_czrk ORDER BY id").fetchall()
    assert hashlib.sha256(repr(rows).encode()).hexdigest() == REGISTER_DIGEST


def test_dirty_rate_changes_only_the_spoiled_rows(tmp_path):
    """The same seed with and without dirt describes the same people; only the spoiled rows differ."""
    generate_township(tmp_path / "clean", 3000, seed=5, as_of=AS_OF, dirty_rate=0.0)
    clean = read_register(tmp_path / "clean")
    manifest = generate_township(tmp_path / "dirty", 3000, seed=5, as_of=AS_OF, dirty_rate=0.05)
    dirty = read_register(tmp_path / "dirty")
    changed = sum(a != b for a, b in zip(clean, dirty, strict=True))
    assert changed == manifest.expected_rejects["public_security"] > 0


# -- validity of the clean data --------------------------------------------------------------------------

def test_every_clean_id_is_valid_unique_and_consistent(township):
    """Rows not spoiled on purpose carry unique valid IDs from area 530124 matching birth date and sex."""
    out, manifest = township
    rows = read_register(out)
    faults = Counter(register_fault(row) for row in rows)
    assert faults[None] == len(rows) - manifest.expected_rejects["public_security"]
    valid = [row for row in rows if id_fault(str(row["gmsfhm"])) is None]
    assert len({row["gmsfhm"] for row in valid}) == len(valid)
    for row in valid:
        parsed = parse_resident_id(str(row["gmsfhm"]), today=AS_OF)
        assert parsed.area_code == "530124"
        assert parsed.birth_date == birth_of(row)
        if row["xbdm"] in ("1", "2"):
            assert parsed.sex == {"1": "male", "2": "female"}[str(row["xbdm"])]


def test_register_has_the_contracted_columns_and_index(township):
    """hjxx_czrk has exactly the contracted columns and an index on (gxsj, id)."""
    out, _ = township
    columns, indexed = sql_schema(out, "public_security.db", "hjxx_czrk")
    assert columns == REGISTER_COLUMNS
    assert ["gxsj", "id"] in indexed


def test_codes_and_households_follow_the_division_structure(township):
    """Village, grid and household codes nest as the manifest says; households have one head, 1-6 people."""
    out, manifest = township
    rows = read_register(out)
    grids = {grid.code: village.code for village in manifest.villages for grid in village.grids}
    assert [village.code for village in manifest.villages][:2] == ["530124101201", "530124101202"]
    assert len(manifest.villages) == round(2000 / 600)
    households: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        households.setdefault(str(row["hh"]), []).append(row)
        assert grids[str(row["wgdm"])] == row["xzqhdm"]
        assert re.fullmatch(str(row["xzqhdm"]) + r"\d{4}", str(row["hh"]))
        assert re.fullmatch(r"云南省昆明市富民县永定街道\w+村委会\w+组\d+号", str(row["zz"]))
        assert row["mzdm"] in {"01", "07", "14", "16", "18", "20"}
        assert row["yhzgxdm"] in {"02", "10", "20", "30", "40", "50", "70", "99"}
    assert len(households) == manifest.households
    assert sum(village.residents for village in manifest.villages) == len(rows) == manifest.residents
    for members in households.values():
        assert 1 <= len(members) <= 6
        assert [m["yhzgxdm"] for m in members].count("02") == 1
        assert len({(m["zz"], m["wgdm"]) for m in members}) == 1


def test_update_times_fall_in_the_last_year_and_tie(township):
    """gxsj lies in the year before as_of, and several rows share a second (for watermark tie-breaks)."""
    out, _ = township
    rows = read_register(out)
    times = [str(row["gxsj"]) for row in rows]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times)
    assert min(times) >= (AS_OF - timedelta(days=365)).isoformat()
    assert max(times) < AS_OF.isoformat()
    assert max(Counter(times).values()) >= 2
    assert [row["id"] for row in rows] == list(range(1, len(rows) + 1))


def test_status_shares_are_realistic(township):
    """About 1% of residents have moved out and about 0.5% have died."""
    out, _ = township
    statuses = Counter(row["ryzt"] for row in read_register(out))
    total = sum(statuses.values())
    assert set(statuses) <= {"0", "1", "2"}
    assert 0.004 < statuses["1"] / total < 0.02
    assert 0.001 < statuses["2"] / total < 0.012


# -- civil affairs ---------------------------------------------------------------------------------------

def test_csv_is_utf8_with_bom_and_the_exact_header(township):
    """The assistance export is one file in its drop folder, UTF-8 with BOM, with the exact Chinese header."""
    out, manifest = township
    assert [path.name for path in (out / ASSISTANCE_DIR).iterdir()] == ["assistance.csv"]
    raw = (out / ASSISTANCE_DIR / "assistance.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (out / ASSISTANCE_DIR / "assistance.csv").open(encoding="utf-8-sig", newline="") as file:
        assert next(csv.reader(file)) == HEADER
    assert len(read_assistance(out)) == manifest.counts["civil_affairs"]
    assert not (out / "civil_affairs" / "assistance.csv").exists()


def test_clean_assistance_rows_are_well_formed(township):
    """Valid rows have known status, end dates only when ended, and the elderly amount for the age."""
    out, _ = township
    rows = [row for row in read_assistance(out) if assistance_fault(row) is None]
    assert {row["救助类别"] for row in rows} == PROGRAMMES
    for row in rows:
        assert re.fullmatch(r"MZ\d{10}", row["记录编号"])
        assert row["状态"] in STATUSES
        assert (row["结束日期"] != "") == (row["状态"] == "已停发")
        assert row["开始日期"] <= row["更新时间"][:10]
        if row["救助类别"] == "高龄津贴" and row["状态"] != "已停发":
            age = age_on(parse_resident_id(row["身份证号"]).birth_date, AS_OF)
            assert row["月发放金额"] == ("300.00" if age >= 100 else "100.00" if age >= 90 else "50.00")


def test_elderly_allowance_covers_about_sixty_percent(tmp_path):
    """About 60% of active residents aged 80+ have an elderly allowance record, and 80+ are 3-5% of people."""
    generate_township(tmp_path, 10_000, seed=7, as_of=AS_OF, dirty_rate=0.0)
    register = read_register(tmp_path)
    old = {str(r["gmsfhm"]) for r in register if age_on(birth_of(r), AS_OF) >= 80}
    assert 0.03 <= len(old) / len(register) <= 0.05
    active_old = {str(r["gmsfhm"]) for r in register if r["ryzt"] == "0"} & old
    allowance = {row["身份证号"] for row in read_assistance(tmp_path) if row["救助类别"] == "高龄津贴"}
    assert 0.5 <= len(active_old & allowance) / len(active_old) <= 0.7


# -- dirt and the manifest's expectations ----------------------------------------------------------------

def test_dirty_counts_match_the_files(dirty_township):
    """Re-validating every row finds exactly the dirt the manifest says was injected."""
    out, manifest = dirty_township
    register = Counter(register_fault(row) for row in read_register(out))
    del register[None]
    assert register == Counter(manifest.dirty["public_security"])
    assert register.total() == manifest.expected_rejects["public_security"]

    rows = read_assistance(out)
    assistance = Counter(assistance_fault(row) for row in rows)
    del assistance[None]
    _, anomalies = newest_valid_records(rows)
    found = assistance + anomalies
    assert found == Counter(manifest.dirty["civil_affairs"])  # and so no newer row ever comes later
    assert assistance.total() == manifest.expected_rejects["civil_affairs"]
    assert min(found.values()) > 0


def test_expected_elderly_review_matches_an_independent_count(dirty_township):
    """Counting review candidates from the files alone gives the manifest's expected_elderly_review."""
    out, manifest = dirty_township
    newest, _ = newest_valid_records(read_assistance(out))
    receiving = {row["身份证号"] for row in newest.values()
                 if (row["救助类别"], row["状态"]) == ("高龄津贴", "享受中")}
    expected = sum(
        1 for row in read_register(out)
        if register_fault(row) is None and row["ryzt"] == "0" and age_on(birth_of(row), AS_OF) >= 80
        and row["gmsfhm"] not in receiving and row["gmsfhm"] not in dead_to_civil_affairs(out)
    )
    assert manifest.expected_elderly_review == expected > 0


def dead_to_civil_affairs(out: Path) -> set[str]:
    """ID numbers on a funeral row a correct adapter accepts (valid ID, cremation not before death)."""
    found = set()
    for row in folder_rows(out, "civil_affairs/funerals"):
        try:
            died = date.fromisoformat(row["死亡日期"])
        except ValueError:
            continue
        if id_fault(row["身份证号"]) is None and row["火化日期"] >= died.isoformat():
            found.add(row["身份证号"])
    return found


def test_zero_dirty_rate_means_no_dirt(tmp_path):
    """With dirty_rate 0 every row validates and the manifest counts no dirt."""
    manifest = generate_township(tmp_path, 3000, seed=7, as_of=AS_OF, dirty_rate=0.0)
    assert all(register_fault(row) is None for row in read_register(tmp_path))
    assert all(assistance_fault(row) is None for row in read_assistance(tmp_path))
    assert len(manifest.expected_rejects) == 12
    assert not any(manifest.expected_rejects.values())
    assert not any(n for kinds in manifest.dirty.values() for n in kinds.values())
    assert not any(n for reasons in manifest.expected_reasons.values() for n in reasons.values())


def test_boundary_residents_have_the_right_birthdays_and_stay_clean(dirty_township):
    """The three boundary residents exist, turn 80 on as_of, tomorrow and yesterday, and are never dirty."""
    out, manifest = dirty_township
    ids = manifest.boundary_residents
    assert set(ids) == {"turns_80_on_as_of", "turns_80_tomorrow", "turned_80_yesterday"}
    day_before = AS_OF - timedelta(days=1)
    cases = {"turns_80_on_as_of": (AS_OF, 80), "turns_80_tomorrow": (AS_OF + timedelta(days=1), 79),
             "turned_80_yesterday": (day_before, 80)}
    register = {str(row["gmsfhm"]): row for row in read_register(out)}
    for label, (eightieth, age_today) in cases.items():
        row = register[ids[label]]
        birth = parse_resident_id(ids[label], today=AS_OF).birth_date
        assert (register_fault(row), row["ryzt"]) == (None, "0")
        assert (age_on(birth, eightieth - timedelta(days=1)), age_on(birth, eightieth)) == (79, 80)
        assert age_on(birth, AS_OF) == age_today
    theirs = [row for row in read_assistance(out) if row["身份证号"] in ids.values()]
    assert all(assistance_fault(row) is None for row in theirs)


def test_small_townships_work_without_boundary_residents(tmp_path):
    """A dozen residents make one village and valid files; boundary residents start at 50."""
    manifest = generate_township(tmp_path, 12, seed=7, as_of=AS_OF)
    assert manifest.residents == len(read_register(tmp_path)) == 12
    assert (len(manifest.villages), manifest.boundary_residents) == (1, {})
    assert len(generate_township(tmp_path, 50, seed=7, as_of=AS_OF).boundary_residents) == 3


def test_manifest_file_round_trips(township):
    """township.json loads back into the manifest the generator returned."""
    out, manifest = township
    assert TownshipManifest.load(out) == manifest
    assert manifest.format_version == 2
    assert manifest.files == {
        "public_security": "public_security.db", "public_security_households": "public_security.db",
        "public_security_members": "public_security.db", "public_security_deaths": "public_security.db",
        "civil_affairs": "civil_affairs/assistance", "civil_affairs_funerals": "civil_affairs/funerals",
        "human_resources": "human_resources.db", "health_chronic_diseases": "health/chronic_diseases",
        "health_family_doctors": "health/family_doctors", "disabled_persons": "disabled_persons",
        "education": "education", "agriculture": "agriculture",
    }
    for source in ("counts", "dirty", "expected_rejects", "expected_reasons"):
        assert list(getattr(manifest, source)) == list(manifest.files), source
    assert manifest.counts["public_security"] == manifest.counts["public_security_members"] == 2000


@pytest.mark.parametrize(
    ("residents", "rate", "as_of"),
    [(0, 0.02, AS_OF), (5_000_001, 0.02, AS_OF), (100, -0.1, AS_OF), (100, 0.9, AS_OF),
     (100, 0.02, date(1960, 1, 1))],
)
def test_bad_arguments_are_config_errors(tmp_path, residents, rate, as_of):
    """Impossible sizes, dirty rates and as_of days raise ConfigError before anything is written."""
    with pytest.raises(ConfigError):
        generate_township(tmp_path, residents, as_of=as_of, dirty_rate=rate)
    assert not (tmp_path / "township.json").exists()


def test_as_of_defaults_to_today(tmp_path):
    """Without as_of the township is generated as of today, so every ID is valid today."""
    manifest = generate_township(tmp_path, 60, seed=7, dirty_rate=0.0)
    assert manifest.as_of == date.today()
    assert all(id_fault(str(row["gmsfhm"])) is None for row in read_register(tmp_path))


# -- scale -----------------------------------------------------------------------------------------------

def test_ten_thousand_residents_generate_quickly(tmp_path):
    """10,000 residents and every department's rows take about a second (a million about 85 s)."""
    started = time.perf_counter()
    manifest = generate_township(tmp_path, 10_000, seed=7, as_of=AS_OF)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert len(manifest.villages) == round(10_000 / 600)
    counts = manifest.counts
    assert counts["public_security"] == counts["public_security_members"] == 10_000
    assert counts["public_security_households"] == manifest.households
    # Rows per resident, about what a rural township of this size exports.
    shares = {"human_resources": (0.55, 0.75), "health_family_doctors": (0.35, 0.5),
              "health_chronic_diseases": (0.15, 0.3), "education": (0.14, 0.22), "disabled_persons": (0.05, 0.09),
              "civil_affairs": (0.04, 0.1), "agriculture": (0.005, 0.015), "public_security_deaths": (0.002, 0.01)}
    for source, (low, high) in shares.items():
        assert low < counts[source] / 10_000 < high, source


@pytest.mark.parametrize("as_of", [date(2028, 2, 29), date(2028, 3, 1), date(2027, 3, 1), date(2027, 2, 28)])
def test_boundary_residents_around_leap_days(tmp_path, as_of):
    """Around 29 February the boundary residents still turn 80 on as_of, tomorrow and yesterday."""
    manifest = generate_township(tmp_path, 60, seed=7, as_of=as_of)
    births = {label: parse_resident_id(number, today=as_of).birth_date
              for label, number in manifest.boundary_residents.items()}
    for label, eightieth in (("turns_80_on_as_of", as_of), ("turns_80_tomorrow", as_of + timedelta(days=1)),
                             ("turned_80_yesterday", as_of - timedelta(days=1))):
        birth = births[label]
        assert (age_on(birth, eightieth - timedelta(days=1)), age_on(birth, eightieth)) == (79, 80), label
