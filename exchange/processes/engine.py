"""Evaluates a process over an entity view: does its trigger hold, and what does the form hold."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from exchange.entities import EntityView, Fact, epoch_ms
from exchange.identity import age_on
from exchange.processes.definition import (
    AllOf,
    AnyOf,
    Condition,
    FactFilter,
    FieldCondition,
    FormField,
    HasFact,
    Not,
    ProcessDefinition,
)


@dataclass(slots=True)
class FormDraft:
    """The computed content of a form for one entity (before it is stored)."""

    process_id: str
    title: str
    entity_type: str
    entity_key: str
    grid_code: str | None
    division_code: str | None
    fields: list[dict[str, Any]]
    manual_fields: list[dict[str, Any]]
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def prefilled_count(self) -> int:
        return sum(1 for f in self.fields if f["value"] not in (None, []))

    @property
    def manual_count(self) -> int:
        """Fields staff must fill: the manual ones plus pre-fill fields no source could provide."""
        return len(self.manual_fields) + sum(1 for f in self.fields if f["value"] is None)

    def digest(self) -> str:
        content = json.dumps([self.fields, self.conflicts, self.grid_code], sort_keys=True, default=str)
        return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _first(view: EntityView, path: str) -> Any:
    found = view.values(path)
    return found[0][0] if found else None


def birth_date(view: EntityView) -> tuple[date, Fact] | None:
    found = view.values("resident.birth_date")
    if not found:
        return None
    value, fact = found[0]
    return (date.fromisoformat(value), fact)


def field_value(view: EntityView, path: str, today: date) -> Any:
    if path == "age":
        born = birth_date(view)
        return None if born is None else age_on(born[0], today)
    return _first(view, path)


def _matches(fact: Fact, where: dict[str, Any]) -> bool:
    return all(fact.payload.get(k) == v for k, v in where.items())


def matching_facts(view: EntityView, spec: FactFilter) -> list[Fact]:
    return [f for f in view.of_type(spec.record_type) if _matches(f, spec.where)]


def holds(condition: Condition, view: EntityView, today: date) -> bool:
    """Whether ``condition`` is true of ``view`` on ``today``."""
    if isinstance(condition, AllOf):
        return all(holds(c, view, today) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, view, today) for c in condition.any)
    if isinstance(condition, Not):
        return not holds(condition.not_, view, today)
    if isinstance(condition, HasFact):
        return bool(matching_facts(view, condition.has_fact))
    assert isinstance(condition, FieldCondition)
    value = field_value(view, condition.field, today)
    if condition.present is not None:
        return (value is not None) == condition.present
    if value is None:
        return False
    if condition.equals is not None:
        return bool(value == condition.equals)
    if condition.in_ is not None:
        return value in condition.in_
    try:
        if condition.at_least is not None and not float(value) >= condition.at_least:
            return False
        return not (condition.at_most is not None and not float(value) <= condition.at_most)
    except (TypeError, ValueError):
        return False


def _fill(spec: FormField, view: EntityView, today: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The form field for ``spec`` and any conflicts between its sources."""
    out: dict[str, Any] = {"name": spec.name, "label": spec.label.model_dump(), "value": None, "provenance": None}
    if spec.computed == "age":
        born = birth_date(view)
        if born is not None:
            out["value"] = age_on(born[0], today)
            out["provenance"] = born[1].provenance() | {"computed": "age", "as_of": today.isoformat()}
        return out, []
    if spec.collect is not None:
        facts = matching_facts(view, spec.collect)
        out["value"] = sorted({f.payload.get(spec.collect.value) for f in facts} - {None})
        out["provenance"] = [f.provenance() for f in facts]
        return out, []
    oldest = epoch_ms_of(today - timedelta(days=spec.max_age_days)) if spec.max_age_days else None
    candidates = [
        (path, value, fact)
        for path in spec.sources
        for value, fact in view.values(path)
        if oldest is None or fact.event_time >= oldest
    ]
    if not candidates:
        return out, []
    _, value, fact = candidates[0]
    out["value"], out["provenance"] = value, fact.provenance()
    conflicts = [
        {"field": spec.name, "value": other, "provenance": other_fact.provenance(), "chosen": value}
        for _, other, other_fact in candidates[1:]
        if other != value and other_fact.department != fact.department
    ]
    return out, conflicts


def epoch_ms_of(day: date) -> int:
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def evaluate(process: ProcessDefinition, view: EntityView, today: date) -> FormDraft | None:
    """The form ``process`` opens for ``view`` on ``today``, or None when its trigger does not hold."""
    if not holds(process.trigger, view, today):
        return None
    fields, conflicts = [], []
    for spec in process.fields:
        filled, clashes = _fill(spec, view, today)
        fields.append(filled)
        conflicts.extend(clashes)
    manual = [
        {"name": m.name, "label": m.label.model_dump(), "kind": m.kind, "choices": m.choices,
         "required": m.required, "value": None}
        for m in process.manual_fields
    ]
    return FormDraft(
        process_id=process.id,
        title=process.title.zh,
        entity_type=view.entity_type,
        entity_key=view.entity_key,
        grid_code=_first(view, process.routing.grid),
        division_code=_first(view, process.routing.division) if process.routing.division else None,
        fields=fields,
        manual_fields=manual,
        conflicts=conflicts,
    )
