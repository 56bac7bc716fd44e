"""Evaluates a process over an entity view: does its trigger hold, and what does the form hold."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from exchange.entities import EntityView
from exchange.processes.definition import ProcessDefinition
from exchange.processes.filling import epoch_ms_of, fill
from exchange.processes.scope import Member, Scope
from exchange.processes.triggers import holds, matching_facts

__all__ = ["FormDraft", "Member", "epoch_ms_of", "evaluate", "matching_facts"]


def _is_missing(value: Any) -> bool:
    return value is None


def _is_filled(value: Any) -> bool:
    return value not in (None, [])


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

    def _cells(self) -> list[Any]:
        """Every value staff would otherwise collect: scalar fields, and each cell of member tables."""
        cells: list[Any] = []
        for f in self.fields:
            if f.get("kind") == "table":
                cells += [row[c["name"]] for row in f["value"] for c in f["columns"]]
            else:
                cells.append(f["value"])
        return cells

    @property
    def prefilled_count(self) -> int:
        return sum(1 for v in self._cells() if _is_filled(v))

    @property
    def manual_count(self) -> int:
        """Fields staff must fill: the manual ones plus pre-fill fields no source could provide."""
        return len(self.manual_fields) + sum(1 for v in self._cells() if _is_missing(v))

    def field_value(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)

    def digest(self) -> str:
        content = json.dumps([self.fields, self.conflicts, self.grid_code], sort_keys=True, default=str)
        return hashlib.sha256(content.encode("utf-8")).hexdigest()


def evaluate(
    process: ProcessDefinition, view: EntityView, today: date, members: list[Member] | None = None
) -> FormDraft | None:
    """The form ``process`` opens for ``view`` (with a household's ``members``) on ``today``, or None
    when its trigger does not hold."""
    scope = Scope(view, today, members or [])
    if not holds(process.trigger, scope):
        return None
    fields, conflicts = [], []
    for spec in process.fields:
        filled, clashes = fill(spec, scope)
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
        grid_code=scope.first(process.routing.grid),
        division_code=scope.first(process.routing.division) if process.routing.division else None,
        fields=fields,
        manual_fields=manual,
        conflicts=conflicts,
    )
