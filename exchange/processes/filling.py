"""Fills a form's pre-filled fields from a scope: sources in precedence order, computed, collected,
and per-member tables for households; every value keeps the provenance of the fact it came from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from exchange.entities import epoch_ms
from exchange.processes.definition import Column, FormField
from exchange.processes.scope import Scope
from exchange.processes.triggers import matching_facts

Conflicts = list[dict[str, Any]]


def epoch_ms_of(day: date) -> int:
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def fill_column(spec: Column, scope: Scope) -> tuple[Any, Any, Conflicts]:
    """The value of ``spec`` in ``scope``, its provenance, and conflicts between its sources."""
    if spec.computed == "age":
        born = scope.birth_date()
        if born is None:
            return None, None, []
        provenance = born[1].provenance() | {"computed": "age", "as_of": scope.today.isoformat()}
        return scope.age(), provenance, []
    if spec.collect is not None:
        facts = matching_facts(scope, spec.collect)
        present = [f.payload.get(spec.collect.value) for f in facts]
        value = sorted({str(v): v for v in present if v is not None}.values(), key=str)
        return value, [f.provenance() for f in facts], []
    oldest = epoch_ms_of(scope.today - timedelta(days=spec.max_age_days)) if spec.max_age_days else None
    candidates = [
        (value, fact)
        for path in spec.sources
        for value, fact in scope.values(path)
        if oldest is None or fact.event_time >= oldest
    ]
    if not candidates:
        return None, None, []
    value, fact = candidates[0]
    conflicts = [
        {"field": spec.name, "value": other, "provenance": other_fact.provenance(), "chosen": value}
        for other, other_fact in candidates[1:]
        if other != value and other_fact.department != fact.department
    ]
    return value, fact.provenance(), conflicts


def _member_table(spec: FormField, scope: Scope) -> tuple[dict[str, Any], Conflicts]:
    assert spec.members is not None
    rows, provenance, conflicts = [], [], []
    members = sorted(scope.current_members(spec.members.include_former),
                     key=lambda m: (m.membership.payload.get("relationship_to_head") != "HEAD", m.resident_id))
    for member in members:
        member_scope = scope.for_member(member)
        row: dict[str, Any] = {"resident_id": member.resident_id}
        sources: dict[str, Any] = {}
        for column in spec.members.columns:
            row[column.name], sources[column.name], clashes = fill_column(column, member_scope)
            conflicts += [c | {"field": f"{spec.name}.{column.name}", "member": member.resident_id} for c in clashes]
        rows.append(row)
        provenance.append(sources)
    columns = [{"name": c.name, "label": c.label.model_dump()} for c in spec.members.columns]
    return {"kind": "table", "columns": columns, "value": rows, "provenance": provenance}, conflicts


def fill(spec: FormField, scope: Scope) -> tuple[dict[str, Any], Conflicts]:
    """The form field for ``spec`` and any conflicts between its sources."""
    out: dict[str, Any] = {"name": spec.name, "label": spec.label.model_dump()}
    if spec.members is not None:
        table, conflicts = _member_table(spec, scope)
        return out | table, conflicts
    value, provenance, conflicts = fill_column(spec, scope)
    return out | {"value": value, "provenance": provenance}, conflicts
