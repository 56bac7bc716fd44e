"""Trigger conditions of a process: tests of fields, of facts, of dates and of household members.

A condition is one of (YAML keys in brackets):

- a field test (``field`` with ``equals``, ``in``, ``at_least``, ``at_most``, ``present``, and the date
  tests ``within_days`` / ``older_than_days`` / ``after``) on the newest value of ``record_type.field``,
  or on the computed ``age``;
- ``has_fact``: a live fact of a record type, optionally from one department, with fields equal to
  ``where`` and a date field passing ``dated``;
- ``all`` / ``any`` / ``not``;
- ``any_member`` (household processes): the condition holds for at least ``at_least`` members.

A path is ``record_type.field`` of the view the condition is about; inside ``any_member`` that is the
member (their resident view plus their ``household_member`` fact), and ``household:record_type.field``
reads the household itself, e.g. the date of the last monitoring visit.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

PATH_PATTERN = r"^(household:)?[a-z_]+\.[a-z_]+$"
FieldPath = Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", description="record_type.field")]
RefPath = Annotated[str, Field(pattern=PATH_PATTERN, description="[household:]record_type.field")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DateTest(Strict):
    """Tests of a date value against today or against other dates of the entity."""

    within_days: int | None = Field(None, ge=0, description="On or before today and at most this many days ago.")
    older_than_days: int | None = Field(None, ge=0, description="More than this many days before today.")
    after: list[RefPath] | None = Field(
        None, description="Strictly after the first of these dates that is present (none present: true).")

    def has_date_test(self) -> bool:
        return any(t is not None for t in (self.within_days, self.older_than_days, self.after))


class FieldCondition(DateTest):
    """A test of one field of the entity view (or the computed ``age``)."""

    field: str = Field(pattern=r"^(age|(household:)?[a-z_]+\.[a-z_]+)$")
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    at_least: float | None = None
    at_most: float | None = None
    present: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FieldCondition:
        tests = [self.equals, self.in_, self.at_least, self.at_most, self.present]
        if sum(t is not None for t in tests) == 0 and not self.has_date_test():
            raise ValueError(
                f"condition on {self.field!r} needs one of equals, in, at_least, at_most, present, "
                "within_days, older_than_days, after")
        return self


class DatedField(DateTest):
    """A date field of a fact and the tests it must pass."""

    field: str = Field(pattern=r"^[a-z_]+$")

    @model_validator(mode="after")
    def _one_test(self) -> DatedField:
        if not self.has_date_test():
            raise ValueError(f"dated {self.field!r} needs one of within_days, older_than_days, after")
        return self


class FactFilter(Strict):
    """Live facts of one record type (from one department, if given) whose fields equal ``where``."""

    record_type: str = Field(pattern=r"^[a-z_]+$")
    department: str | None = Field(None, pattern=r"^[A-Z_]+$")
    where: dict[str, Any] = Field(default_factory=dict)
    dated: DatedField | None = None


class HasFact(Strict):
    has_fact: FactFilter


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class Not(Strict):
    not_: Condition = Field(alias="not")


class MemberQuantifier(Strict):
    """Members of the household for whom ``where`` holds."""

    where: Condition
    at_least: int = Field(1, ge=1, description="How many members must match.")
    include_former: bool = Field(False, description="Count members who left (e.g. by death) too.")


class AnyMember(Strict):
    any_member: MemberQuantifier


Condition = AllOf | AnyOf | Not | AnyMember | HasFact | FieldCondition
for _model in (AllOf, AnyOf, Not, MemberQuantifier, AnyMember):
    _model.model_rebuild()


def walk(condition: Condition, in_member: bool = False) -> list[tuple[Condition, bool]]:
    """``condition`` and every condition inside it, each with whether it sits inside ``any_member``."""
    found: list[tuple[Condition, bool]] = [(condition, in_member)]
    children: list[Condition] = []
    if isinstance(condition, AllOf):
        children = condition.all
    elif isinstance(condition, AnyOf):
        children = condition.any
    elif isinstance(condition, Not):
        children = [condition.not_]
    elif isinstance(condition, AnyMember):
        return found + walk(condition.any_member.where, True)
    for child in children:
        found.extend(walk(child, in_member))
    return found


def household_problems(condition: Condition, entity: str) -> list[str]:
    """Why ``condition`` cannot be evaluated for an ``entity`` process (empty when it can)."""
    problems = []
    for node, in_member in walk(condition):
        if isinstance(node, AnyMember) and entity != "household":
            problems.append("any_member is only for household processes")
        paths = [node.field] if isinstance(node, FieldCondition) else []
        if isinstance(node, FieldCondition | DatedField):
            paths += node.after or []
        if isinstance(node, HasFact) and node.has_fact.dated is not None:
            paths += node.has_fact.dated.after or []
        for path in paths:
            if path.startswith("household:") and not in_member:
                problems.append(f"{path!r}: household: paths are only for conditions inside any_member")
    return problems
