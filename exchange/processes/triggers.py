"""Whether a trigger condition holds in a scope (see :mod:`exchange.processes.conditions`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from exchange.entities import Fact
from exchange.processes.conditions import (
    AllOf,
    AnyMember,
    AnyOf,
    Condition,
    DateTest,
    FactFilter,
    FieldCondition,
    HasFact,
    Not,
)
from exchange.processes.scope import Scope, as_date


def matching_facts(scope: Scope, spec: FactFilter) -> list[Fact]:
    """Live facts of ``spec.record_type`` (newest first) from its department, equal to ``where``, and
    whose dated field passes ``dated``."""
    found = []
    for fact in scope.view.of_type(spec.record_type):
        if spec.department is not None and fact.department != spec.department:
            continue
        if not all(fact.payload.get(k) == v for k, v in spec.where.items()):
            continue
        if spec.dated is not None and not date_passes(fact.payload.get(spec.dated.field), spec.dated, scope):
            continue
        found.append(fact)
    return found


def date_passes(value: Any, test: DateTest, scope: Scope) -> bool:
    """Whether the date ``value`` passes every date test of ``test`` (a missing date passes none)."""
    day = as_date(value)
    if day is None:
        return False
    if test.within_days is not None and not scope.today - timedelta(days=test.within_days) <= day <= scope.today:
        return False
    if test.older_than_days is not None and not day < scope.today - timedelta(days=test.older_than_days):
        return False
    if test.after is not None:
        reference = next((d for d in (as_date(scope.first(p)) for p in test.after) if d is not None), None)
        if reference is not None and not day > reference:
            return False
    return True


def _field_holds(condition: FieldCondition, scope: Scope) -> bool:
    value = scope.value(condition.field)
    if condition.present is not None and (value is not None) != condition.present:
        return False
    if value is None:
        return condition.present is False
    if condition.equals is not None and value != condition.equals:
        return False
    if condition.in_ is not None and value not in condition.in_:
        return False
    if condition.has_date_test() and not date_passes(value, condition, scope):
        return False
    try:
        if condition.at_least is not None and not float(value) >= condition.at_least:
            return False
        return not (condition.at_most is not None and not float(value) <= condition.at_most)
    except (TypeError, ValueError):
        return False


def holds(condition: Condition, scope: Scope) -> bool:
    """Whether ``condition`` is true of ``scope`` on its day."""
    if isinstance(condition, AllOf):
        return all(holds(c, scope) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(c, scope) for c in condition.any)
    if isinstance(condition, Not):
        return not holds(condition.not_, scope)
    if isinstance(condition, HasFact):
        return bool(matching_facts(scope, condition.has_fact))
    if isinstance(condition, AnyMember):
        quantifier = condition.any_member
        members = scope.current_members(quantifier.include_former)
        matched = sum(1 for m in members if holds(quantifier.where, scope.for_member(m)))
        return matched >= quantifier.at_least
    return _field_holds(condition, scope)
