"""Process definitions: the YAML language (dates, fact filters, member quantifiers, member tables,
cycles, notices), load errors that name file and key, and the county's override folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from exchange.cli import cli
from exchange.entities import EntityView, Fact
from exchange.errors import ProcessDefinitionError
from exchange.processes import load_processes
from exchange.processes.conditions import FieldCondition
from exchange.processes.cycles import form_key, previous_form_key, split_form_key
from exchange.processes.definition import ProcessDefinition, load_process
from exchange.processes.engine import evaluate
from exchange.processes.scope import Member, Scope
from exchange.processes.triggers import holds
from schemas import PROCESSES_DIR

TODAY = date(2026, 6, 15)
HOUSEHOLD = "5301241012010001"


def fact(record_type: str, payload: dict[str, Any], *, entity: str = "resident", key: str = "R1",
         fact_key: str = "", department: str = "PUBLIC_SECURITY", event_time: int = 1_780_000_000_000) -> Fact:
    return Fact(entity, key, record_type, fact_key, department, f"{record_type}-{key}-{fact_key}", event_time,
                event_time, payload)


def reference(process_id: str) -> dict[str, Any]:
    return yaml.safe_load((PROCESSES_DIR / f"{process_id}.yaml").read_text(encoding="utf-8"))


def member(resident_id: str, *facts: Fact, until: str | None = None, relationship: str = "CHILD") -> Member:
    membership = fact("household_member", {"resident_id": resident_id, "relationship_to_head": relationship,
                                           "until_date": until}, entity="household", key=HOUSEHOLD,
                      fact_key=resident_id)
    return Member(resident_id, membership, EntityView("resident", resident_id, [*facts, membership]))


def monitored(last_visit: str | None, identified: str = "2024-01-10") -> EntityView:
    return EntityView("household", HOUSEHOLD, [
        fact("household", {"household_id": HOUSEHOLD, "grid_code": "53012410120101", "division_code": "530124101201"},
             entity="household", key=HOUSEHOLD),
        fact("poverty_monitoring", {"status": "MONITORING", "identified_date": identified,
                                    "last_visit_date": last_visit, "per_capita_net_income": "5000.00"},
             entity="household", key=HOUSEHOLD, department="AGRICULTURE_RURAL_AFFAIRS"),
    ])


def write(folder: Path, name: str, definition: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    return path


def test_the_four_reference_processes_load() -> None:
    """The reference set is the four processes of issue 6, with their entities, cycles and notices."""
    processes = {p.id: p for p in load_processes()}
    assert set(processes) == {"death-notice", "elderly-allowance-review", "poverty-return-visit",
                              "subsistence-allowance-review"}
    assert processes["subsistence-allowance-review"].cycle == "yearly"
    assert processes["poverty-return-visit"].entity == "household"
    assert [n.department for n in processes["death-notice"].notices] == [
        "CIVIL_AFFAIRS", "HUMAN_RESOURCES_SOCIAL_SECURITY"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["trigger"]["all"][0].update(within_dayz=3), r"trigger\..*within_dayz"),
        (lambda d: d.update(entity="resident"), "any_member is only for household processes"),
        (lambda d: d["notices"].append({"department": "CIVIL_AFFAIRS", "kind": "x", "fields": ["nope"]})
         if "notices" in d else d.update(notices=[{"department": "CIVIL_AFFAIRS", "kind": "x", "fields": ["nope"]}]),
         "notice to CIVIL_AFFAIRS names unknown fields: nope"),
        (lambda d: d.update(cycle="monthly"), r"cycle: Input should be 'once' or 'yearly'"),
        (lambda d: d["trigger"]["all"].append({"field": "household:poverty_monitoring.status", "equals": "X"}),
         "household: paths are only for conditions inside any_member"),
    ],
)
def test_a_bad_definition_names_the_file_and_the_key(tmp_path: Path, change: Any, message: str) -> None:
    """Loading fails with ProcessDefinitionError naming the file and what is wrong where."""
    definition = reference("subsistence-allowance-review")
    change(definition)
    path = write(tmp_path, "county-review.yaml", definition)
    with pytest.raises(ProcessDefinitionError, match=message) as caught:
        load_process(path)
    assert str(caught.value).startswith("county-review.yaml: ")


def test_a_dated_fact_filter_needs_a_date_test(tmp_path: Path) -> None:
    """``dated`` without within_days, older_than_days or after is refused."""
    definition = reference("death-notice")
    definition["trigger"]["any"][0]["has_fact"]["dated"] = {"field": "death_date"}
    with pytest.raises(ProcessDefinitionError, match="dated 'death_date' needs one of"):
        load_process(write(tmp_path, "d.yaml", definition))


def test_a_county_folder_replaces_and_adds_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXCHANGE_PROCESSES_DIR lays a county's definitions over the reference set, by id."""
    elderly = reference("elderly-allowance-review")
    elderly["trigger"]["all"][1] = {"field": "age", "at_least": 85}  # this county pays from 85
    extra = reference("death-notice") | {"id": "county-death-check", "notices": []}
    write(tmp_path / "county", "elderly.yaml", elderly)
    write(tmp_path / "county", "extra.yaml", extra)
    monkeypatch.setenv("EXCHANGE_PROCESSES_DIR", str(tmp_path / "county"))
    processes = {p.id: p for p in load_processes()}
    assert "county-death-check" in processes
    assert len(processes) == 5
    assert processes["elderly-allowance-review"].trigger.all[1] == FieldCondition(field="age", at_least=85)
    listed = CliRunner().invoke(cli, ["processes", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "county-death-check" in listed.output
    checked = CliRunner().invoke(cli, ["processes", "validate"])
    assert checked.exit_code == 0
    assert "ok: extra.yaml" in checked.output


def test_enabled_processes_filter_the_county_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """EXCHANGE_PROCESSES_ENABLED keeps only the named processes, and refuses unknown names."""
    assert [p.id for p in load_processes(enabled=["death-notice"])] == ["death-notice"]
    with pytest.raises(ProcessDefinitionError, match="unknown processes"):
        load_processes(enabled=["no-such-process"])


def condition(raw: dict[str, Any]) -> Any:
    definition = reference("poverty-return-visit") | {"trigger": raw}
    return ProcessDefinition.model_validate(definition).trigger


@pytest.mark.parametrize(
    ("test", "died", "expected"),
    [
        ({"within_days": 30}, "2026-05-20", True),
        ({"within_days": 30}, "2026-05-01", False),
        ({"within_days": 30}, "2026-06-16", False),  # a date in the future is not "within the last 30 days"
        ({"older_than_days": 365}, "2025-06-01", True),
        ({"older_than_days": 365}, "2025-07-01", False),
    ],
)
def test_date_conditions_on_facts(test: dict[str, Any], died: str, expected: bool) -> None:
    """``dated`` compares a fact's date with today."""
    trigger = condition({"has_fact": {"record_type": "death", "dated": {"field": "death_date", **test}}})
    view = EntityView("resident", "R1", [fact("death", {"death_date": died})])
    assert holds(trigger, Scope(view, TODAY)) is expected


def test_fact_existence_can_require_a_department() -> None:
    """A has_fact with a department ignores the same record type from another department."""
    trigger = condition({"has_fact": {"record_type": "death", "department": "PUBLIC_SECURITY"}})
    from_health = EntityView("resident", "R1", [fact("death", {"death_date": "2026-01-01"}, department="HEALTH")])
    assert not holds(trigger, Scope(from_health, TODAY))


VISIT_AFTER = ["household:poverty_monitoring.last_visit_date", "household:poverty_monitoring.identified_date"]


@pytest.mark.parametrize(
    ("last_visit", "issued", "expected"),
    [
        ("2026-03-01", "2026-04-01", True),
        ("2026-03-01", "2026-02-01", False),
        ("2026-03-01", "2026-03-01", False),  # issued on the day of the visit: the visitor saw it
        (None, "2024-02-01", True),  # never visited: after identification (2024-01-10) counts
        (None, "2023-12-01", False),
    ],
)
def test_member_dates_after_the_households_last_visit(last_visit: str | None, issued: str, expected: bool) -> None:
    """``after`` reads the household's date through ``household:`` and falls back in order."""
    trigger = condition({"any_member": {"where": {"has_fact": {
        "record_type": "disability_certificate", "dated": {"field": "issued_date", "after": VISIT_AFTER}}}}})
    person = member("R1", fact("disability_certificate", {"issued_date": issued, "status": "VALID"}))
    scope = Scope(monitored(last_visit), TODAY, [person])
    assert holds(trigger, scope) is expected


def test_member_quantifiers_count_current_members_unless_told() -> None:
    """any_member skips former members unless include_former, and at_least counts matching members."""
    old = fact("resident", {"birth_date": "1940-01-01"})
    members = [member("R1", old), member("R2", old, until="2026-01-01"), member("R3")]
    aged = {"field": "age", "at_least": 80}
    scope = Scope(monitored(None), TODAY, members)
    assert holds(condition({"any_member": {"where": aged}}), scope)
    assert not holds(condition({"any_member": {"where": aged, "at_least": 2}}), scope)
    assert holds(condition({"any_member": {"where": aged, "at_least": 2, "include_former": True}}), scope)


def test_a_member_table_has_one_row_per_current_member_head_first() -> None:
    """A members field lists current members (head first), each cell with its provenance."""
    process = next(p for p in load_processes() if p.id == "subsistence-allowance-review")
    recipient = fact("assistance", {"programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE"}, key="R2",
                     fact_key="SUBSISTENCE_ALLOWANCE", department="CIVIL_AFFAIRS")
    disabled = fact("disability_certificate", {"status": "VALID", "disability_type": "VISUAL",
                                               "disability_grade": "TWO"}, key="R2",
                    department="DISABLED_PERSONS_FEDERATION")
    members = [member("R2", fact("resident", {"name": "李四", "birth_date": "1980-02-02"}, key="R2"), recipient,
                      disabled),
               member("R1", fact("resident", {"name": "张三"}, key="R1"), relationship="HEAD"),
               member("R9", until="2025-12-01")]
    household = monitored(None)
    draft = evaluate(process, household, TODAY, members)
    assert draft is not None
    table = next(f for f in draft.fields if f["name"] == "members")
    assert [r["resident_id"] for r in table["value"]] == ["R1", "R2"]
    assert table["value"][1]["disability"] == ["VISUAL"]
    assert table["value"][1]["age"] == 46
    assert table["provenance"][1]["disability"][0]["department"] == "DISABLED_PERSONS_FEDERATION"
    assert table["provenance"][0]["relationship"]["record_type"] == "household_member"
    assert draft.grid_code == "53012410120101"
    assert draft.prefilled_count > 10
    without = evaluate(process, household, TODAY, [m for m in members if m.resident_id != "R2"])
    assert without is None


def test_yearly_forms_are_stored_per_year() -> None:
    """A yearly process keys its form by entity and year; a once process by entity alone."""
    processes = {p.id: p for p in load_processes()}
    yearly, once = processes["subsistence-allowance-review"], processes["death-notice"]
    assert form_key(yearly, HOUSEHOLD, TODAY) == f"{HOUSEHOLD}@2026"
    assert previous_form_key(yearly, HOUSEHOLD, TODAY) == f"{HOUSEHOLD}@2025"
    assert split_form_key(f"{HOUSEHOLD}@2026") == (HOUSEHOLD, "2026")
    assert form_key(once, "R1", TODAY) == "R1"
    assert previous_form_key(once, "R1", TODAY) is None
    assert split_form_key("R1") == ("R1", None)


def test_stale_sources_count_as_missing() -> None:
    """max_age_days: an income assessed more than a year ago is left to staff."""
    process = next(p for p in load_processes() if p.id == "poverty-return-visit")
    household = monitored("2026-03-01")
    person = member("R1", fact("disability_certificate", {"issued_date": "2026-04-01", "status": "VALID"}))
    draft = evaluate(process, household, TODAY, [person])
    assert draft is not None
    assert next(f for f in draft.fields if f["name"] == "per_capita_net_income")["value"] == "5000.00"
    later = evaluate(process, household, date(2027, 6, 15), [person])
    assert later is not None
    assert next(f for f in later.fields if f["name"] == "per_capita_net_income")["value"] is None
