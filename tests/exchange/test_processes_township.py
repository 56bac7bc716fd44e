"""The four reference processes over a realistic generated township (3,000 residents, 2% dirty rows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import read_topic
from township_pipeline import AS_OF, Town, build, certificate, copy_of, death, funeral

from exchange.identity import age_on
from exchange.township.manifest import TownshipManifest

ELDERLY, DEATH, SUBSISTENCE, VISIT = (
    "elderly-allowance-review", "death-notice", "subsistence-allowance-review", "poverty-return-visit")


@pytest.fixture(scope="module")
def mediated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    folder = tmp_path_factory.mktemp("township-processes")
    return folder, build(folder, residents=3000, seed=7)


@pytest.fixture
def town(mediated: tuple[Path, TownshipManifest], tmp_path: Path) -> Iterator[Town]:
    with copy_of(*mediated, tmp_path) as town:
        yield town


def deceased(town: Town) -> set[str]:
    return {f.entity_key for f in town.facts("death")} | {f.entity_key for f in town.facts("funeral")}


def field(form: Any, name: str) -> Any:
    return next(f for f in form.fields if f["name"] == name)


def current_members(town: Town) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for fact in town.facts("household_member"):
        if not fact.payload.get("until_date"):
            members.setdefault(fact.entity_key, set()).add(fact.fact_key)
    return members


def test_death_notices_go_to_both_departments_once_per_deceased(town: Town) -> None:
    """Every death or funeral record gives one notice to civil affairs and one to human resources, sent."""
    dead = deceased(town)
    funeral_only = {f.entity_key for f in town.facts("funeral")} - {f.entity_key for f in town.facts("death")}
    assert len(funeral_only) >= town.manifest.cross_department.expected_death_notices > 0
    rows = town.notices()
    for department in ("CIVIL_AFFAIRS", "HUMAN_RESOURCES_SOCIAL_SECURITY"):
        keys = [r.entity_key for r in rows if r.department == department]
        assert sorted(keys) == sorted(dead)
    assert all(r.sent_at is not None for r in rows)
    on_bus = read_topic(town.bus, "civil-affairs.notices") + read_topic(town.bus, "human-resources.notices")
    assert sorted(str(n["id"]) for n in on_bus) == sorted(r.id for r in rows)
    record = next(n for n in on_bus if n["entity_key"] in funeral_only)
    values = {f["name"]: f for f in record["fields"]}
    assert values["death_date"]["value"] is not None
    assert values["death_date"]["source_department"] == "CIVIL_AFFAIRS"


def test_a_second_run_sends_no_notice_again(town: Town) -> None:
    """Evaluating everyone again (a new day) writes and publishes no further notice."""
    before = len(town.notices())
    stats = town.mediator(AS_OF + timedelta(days=1)).run(until_caught_up=True)
    assert stats.notices == stats.notices_sent == 0
    assert len(town.notices()) == before
    assert len(read_topic(town.bus, "civil-affairs.notices")) == before // 2


def test_the_dead_get_no_elderly_review(town: Town) -> None:
    """A death or funeral record keeps a resident off the elderly review, even if the register says active."""
    pending = {f.entity_key for f in town.forms(ELDERLY, "pending_review")}
    assert pending
    assert not pending & deceased(town)
    expected = town.manifest.expected_elderly_review
    assert expected - len(deceased(town)) <= len(pending) <= expected


def test_a_funeral_supersedes_the_open_review_and_notifies(town: Town) -> None:
    """A funeral home's record of a reviewed resident supersedes the form and tells both departments."""
    person = town.forms(ELDERLY, "pending_review")[0].entity_key
    town.publish("civil-affairs.funerals", funeral(person, AS_OF - timedelta(days=2)))
    stats = town.mediator().run(until_caught_up=True)
    [review] = [f for f in town.forms(ELDERLY) if f.entity_key == person]
    assert review.status == "superseded"
    [notice_form] = [f for f in town.forms(DEATH) if f.entity_key == person]
    assert field(notice_form, "death_date")["provenance"]["department"] == "CIVIL_AFFAIRS"
    assert stats.notices == stats.notices_sent == 2
    assert {n.department for n in town.notices() if n.entity_key == person} == {
        "CIVIL_AFFAIRS", "HUMAN_RESOURCES_SOCIAL_SECURITY"}


def expected_subsistence_households(town: Town) -> set[str]:
    receiving = {f.entity_key for f in town.facts("assistance")
                 if f.payload["programme"] == "SUBSISTENCE_ALLOWANCE" and f.payload["status"] == "ACTIVE"}
    alive = receiving - deceased(town)
    households = {f.entity_key for f in town.facts("household")}
    return {h for h, members in current_members(town).items() if members & alive and h in households}


def test_subsistence_review_opens_one_form_per_household_this_year(town: Town) -> None:
    """Each household with a living member on the subsistence allowance gets this year's review form."""
    expected = expected_subsistence_households(town)
    forms = town.forms(SUBSISTENCE)
    assert len(expected) > 5
    assert {f.entity_key for f in forms} == {f"{h}@2026" for h in expected}
    assert {f.status for f in forms} == {"pending_review"}
    assert all(f.grid_code for f in forms)


def test_subsistence_review_lists_current_members_with_department_facts(town: Town) -> None:
    """Member rows come from the register's current memberships, pre-filled from every department."""
    members = current_members(town)
    certificates = {f.entity_key: f.payload["disability_type"] for f in town.facts("disability_certificate")
                    if f.payload["status"] == "VALID"}
    pensions = {f.entity_key for f in town.facts("pension") if f.payload["status"] == "RECEIVING"}
    seen_disability = seen_pension = 0
    for form in town.forms(SUBSISTENCE):
        table = field(form, "members")
        household = form.entity_key.split("@")[0]
        assert {row["resident_id"] for row in table["value"]} == members[household]
        for row, provenance in zip(table["value"], table["provenance"], strict=True):
            if row["resident_id"] in certificates:
                assert certificates[row["resident_id"]] in row["disability"]
                seen_disability += 1
            if row["resident_id"] in pensions:
                assert row["monthly_pension"]
                seen_pension += 1
            if row["name"] is not None:
                assert provenance["name"]["department"] == "PUBLIC_SECURITY"
        assert next(m["name"] for m in form.manual_fields) == "annual_income"
        assert form.prefilled_count > form.manual_count
    assert seen_disability
    assert seen_pension


def test_a_members_new_certificate_updates_the_household_review(town: Town) -> None:
    """A fact about a member (a resident entity) re-evaluates their household's form."""
    form = town.forms(SUBSISTENCE)[0]
    member = next(r for r in field(form, "members")["value"] if not r["disability"])["resident_id"]
    town.publish("disabled-persons.certificates", certificate(member, AS_OF - timedelta(days=3)))
    stats = town.mediator().run(until_caught_up=True)
    assert stats.forms["updated"] >= 1
    [after] = [f for f in town.forms(SUBSISTENCE) if f.entity_key == form.entity_key]
    assert after.revision == form.revision + 1
    row = next(r for r in field(after, "members")["value"] if r["resident_id"] == member)
    assert row["disability"] == ["PHYSICAL"]


def test_the_yearly_review_reopens_on_new_years_day_without_new_records(town: Town) -> None:
    """On 1 January the daily refresh opens next year's forms and supersedes last year's unreviewed ones."""
    households = {f.entity_key.split("@")[0] for f in town.forms(SUBSISTENCE)}
    town.mediator(date(2027, 1, 1)).run(until_caught_up=True)
    forms = {f.entity_key: f.status for f in town.forms(SUBSISTENCE)}
    assert {k for k, s in forms.items() if s == "pending_review"} <= {f"{h}@2027" for h in households}
    assert {forms[f"{h}@2026"] for h in households} == {"superseded"}
    assert len([k for k in forms if k.endswith("@2027")]) >= len(households) * 0.8  # a few children left


def monitored(town: Town) -> list[tuple[str, date, set[str]]]:
    """(household, date of the last visit or identification, current members) of households monitored now
    and without a visit form yet."""
    members = current_members(town)
    opened = {f.entity_key for f in town.forms(VISIT)}
    found = []
    for fact in town.facts("poverty_monitoring"):
        if fact.payload["status"] == "MONITORING" and members.get(fact.entity_key) and fact.entity_key not in opened:
            since = fact.payload["last_visit_date"] or fact.payload["identified_date"]
            found.append((fact.entity_key, date.fromisoformat(since), members[fact.entity_key]))
    return sorted(found)


def birth_of(resident_id: str) -> date:
    return date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))


def test_monitoring_visit_opens_for_a_certificate_issued_after_the_last_visit(town: Town) -> None:
    """A disability certificate issued after the last visit opens a visit form; one issued before does not."""
    households = [h for h in monitored(town) if h[1] < AS_OF - timedelta(days=2)]
    assert len(households) >= 2
    (after_visit, visited, members), (before_visit, visited_b, members_b) = households[:2]
    town.publish("disabled-persons.certificates", certificate(min(members), visited + timedelta(days=1)),
                 certificate(min(members_b), visited_b - timedelta(days=1)))
    town.mediator().run(until_caught_up=True)
    opened = {f.entity_key for f in town.forms(VISIT)}
    assert after_visit in opened
    assert before_visit not in opened
    [form] = [f for f in town.forms(VISIT) if f.entity_key == after_visit]
    row = next(r for r in field(form, "members")["value"] if r["resident_id"] == min(members))
    assert row["certificate_issued"] == [(visited + timedelta(days=1)).isoformat()]


def test_monitoring_visit_opens_for_a_working_age_death_only(town: Town) -> None:
    """A working-age member's death after the last visit opens a visit; an old member's death does not."""
    young = old = None
    for household, visited, members in monitored(town):
        for member in sorted(members):
            age = age_on(birth_of(member), AS_OF)
            if young is None and 16 <= age <= 64:
                young = (household, member, visited)
            elif old is None and age >= 70 and (young is None or household != young[0]):
                old = (household, member, visited)
    assert young is not None, "the township (fixed seed and date) has a working-age monitored member"
    assert old is not None, "the township (fixed seed and date) has an old monitored member"
    town.publish("public-security.deaths", death(young[1], young[2] + timedelta(days=1)),
                 death(old[1], old[2] + timedelta(days=1)))
    town.mediator().run(until_caught_up=True)
    opened = {f.entity_key for f in town.forms(VISIT)}
    assert young[0] in opened
    assert old[0] not in opened or old[0] == young[0]
