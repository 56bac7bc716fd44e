"""Code tables are data files: every shipped table loads, and a broken one is a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.code_tables import CODES_DIR, code_table
from exchange.errors import ConfigError
from exchange.registry.standards import load_avro_file
from schemas import AVRO_DIR


@pytest.mark.parametrize("path", sorted(CODES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_table_loads_and_names_its_standard(path: Path) -> None:
    """Each file has a standard and at least one code."""
    table = code_table(path.stem)
    assert table.standard
    assert table.codes


def test_lookups_follow_the_standards() -> None:
    """GB/T 3304 has 56 groups plus 97/98; GB/T 4761 groups relationship codes by their first digit."""
    ethnicity = code_table("gb3304_ethnicity")
    assert len(ethnicity.codes) == 58
    assert ethnicity.lookup("07") == "彝族"
    assert ethnicity.lookup("57") is None
    relationship = code_table("gb4761_relationship")
    assert (relationship.lookup("02"), relationship.lookup("12"), relationship.lookup("33")) == (
        "HEAD", "SPOUSE", "CHILD")
    assert relationship.lookup("1") is None


def test_a_broken_table_names_its_file(tmp_path: Path) -> None:
    """A county that breaks a table while editing it gets the file's name, not a traceback."""
    (tmp_path / "sex.yaml").write_text("codes: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sex\.yaml"):
        code_table("sex", tmp_path)


ENUMS = {  # code table: (schema, enum its values must be symbols of)
    "gb2261_sex": ("gov.exchange.public_security.Resident", "Sex"),
    "hukou_status": ("gov.exchange.public_security.Resident", "ResidentStatus"),
    "gb4761_relationship": ("gov.exchange.public_security.Resident", "Relationship"),
    "household_type": ("gov.exchange.common.Household", "HouseholdType"),
    "death_cause": ("gov.exchange.public_security.Death", "DeathCauseCategory"),
    "assistance_programme": ("gov.exchange.civil_affairs.Assistance", "Programme"),
    "assistance_status": ("gov.exchange.civil_affairs.Assistance", "AssistanceStatus"),
    "pension_scheme": ("gov.exchange.human_resources.PensionStatus", "PensionScheme"),
    "pension_status": ("gov.exchange.human_resources.PensionStatus", "ParticipationStatus"),
    "chronic_disease": ("gov.exchange.health.ChronicDiseaseManagement", "ManagedDisease"),
    "chronic_disease_status": ("gov.exchange.health.ChronicDiseaseManagement", "ManagementStatus"),
    "service_package": ("gov.exchange.health.FamilyDoctorContract", "ServicePackage"),
    "disability_type": ("gov.exchange.disabled_persons.DisabilityCertificate", "DisabilityType"),
    "disability_grade": ("gov.exchange.disabled_persons.DisabilityCertificate", "DisabilityGrade"),
    "certificate_status": ("gov.exchange.disabled_persons.DisabilityCertificate", "CertificateStatus"),
    "school_stage": ("gov.exchange.education.Enrolment", "EducationStage"),
    "enrolment_status": ("gov.exchange.education.Enrolment", "EnrolmentStatus"),
    "monitoring_category": ("gov.exchange.agriculture.PovertyReturnMonitoring", "MonitoringCategory"),
    "risk_type": ("gov.exchange.agriculture.PovertyReturnMonitoring", "PovertyRiskType"),
    "monitoring_status": ("gov.exchange.agriculture.PovertyReturnMonitoring", "MonitoringStatus"),
}


def enum_symbols(schema: str, enum: str) -> set[str]:
    """The symbols of the enum named ``enum`` anywhere inside the schema file ``schema``."""
    found: list[set[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "enum" and str(node.get("name", "")).split(".")[-1] == enum:
                found.append(set(node["symbols"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_avro_file(AVRO_DIR / f"{schema}.avsc"))
    assert found, f"no enum {enum} in {schema}"
    return found[0]


@pytest.mark.parametrize("table", sorted(ENUMS))
def test_every_code_maps_to_a_symbol_of_the_schema_and_every_symbol_is_reachable(table: str) -> None:
    """A table can only produce values the record's schema accepts, and every value of the schema has a code."""
    assert set(code_table(table).codes.values()) == enum_symbols(*ENUMS[table])


def test_every_table_an_adapter_uses_is_checked_against_its_schema() -> None:
    """No shipped table is left out of the schema check above (ethnicity keeps its code and has no enum)."""
    assert {path.stem for path in CODES_DIR.glob("*.yaml")} == {*ENUMS, "gb3304_ethnicity"}


@pytest.mark.parametrize(
    ("table", "codes", "symbol"),
    [
        ("disability_type", ["4", "肢体"], "PHYSICAL"),
        ("disability_type", ["7", "多重"], "MULTIPLE"),
        ("disability_grade", ["1", "一级"], "ONE"),
        ("disability_grade", ["4", "四级"], "FOUR"),
        ("risk_type", ["因自然灾害", "因灾"], "NATURAL_DISASTER"),
        ("risk_type", ["其他", "缺劳动力"], "OTHER"),
        ("pension_scheme", ["110"], "URBAN_EMPLOYEES"),
        ("pension_scheme", ["170"], "URBAN_RURAL_RESIDENTS"),
        ("death_cause", ["8"], "OTHER"),
        ("death_cause", ["9"], "UNKNOWN"),
        ("household_type", ["2"], "COLLECTIVE"),
    ],
)
def test_departments_native_codes_and_names_map_as_the_readme_says(table: str, codes: list[str], symbol: str) -> None:
    """Digits and Chinese names (and the README's aliases) give the same standard value."""
    assert [code_table(table).lookup(code) for code in codes] == [symbol] * len(codes)


def test_disability_tables_name_their_standard() -> None:
    """Disability category and grade follow GB/T 26341-2010, and say so."""
    assert code_table("disability_type").standard == code_table("disability_grade").standard == "GB/T 26341-2010"
