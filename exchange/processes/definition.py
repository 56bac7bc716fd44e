"""Collaborative-process definitions (YAML under ``schemas/processes/``), validated on load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exchange.errors import ProcessDefinitionError
from schemas import PROCESSES_DIR

FieldPath = Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", description="record_type.field")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Label(_Strict):
    zh: str
    en: str


class FieldCondition(_Strict):
    """A test of one field of the entity view (or the computed ``age``)."""

    field: str
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    at_least: float | None = None
    at_most: float | None = None
    present: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FieldCondition:
        tests = [self.equals, self.in_, self.at_least, self.at_most, self.present]
        if sum(t is not None for t in tests) == 0:
            raise ValueError(f"condition on {self.field!r} needs one of equals, in, at_least, at_most, present")
        return self


class FactFilter(_Strict):
    """Facts of one record type whose fields equal the given values."""

    record_type: str
    where: dict[str, Any] = Field(default_factory=dict)


class HasFact(_Strict):
    has_fact: FactFilter


class AllOf(_Strict):
    all: list[Condition]


class AnyOf(_Strict):
    any: list[Condition]


class Not(_Strict):
    not_: Condition = Field(alias="not")


Condition = AllOf | AnyOf | Not | HasFact | FieldCondition
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


class Collect(FactFilter):
    """The list of one field over the matching facts (e.g. every active programme)."""

    value: str


class FormField(_Strict):
    """A pre-filled field: from sources in precedence order, computed, or collected over facts."""

    name: str
    label: Label
    sources: list[FieldPath] = Field(default_factory=list)
    computed: Literal["age"] | None = None
    collect: Collect | None = None
    max_age_days: int | None = Field(None, ge=1, description="Older source values count as missing.")

    @model_validator(mode="after")
    def _one_origin(self) -> FormField:
        origins = sum([bool(self.sources), self.computed is not None, self.collect is not None])
        if origins != 1:
            raise ValueError(f"field {self.name!r} needs exactly one of sources, computed, collect")
        return self


class ManualField(_Strict):
    """A field only a person can fill in."""

    name: str
    label: Label
    kind: Literal["text", "boolean", "choice", "number", "date"] = "text"
    choices: list[str] = Field(default_factory=list)
    required: bool = True


class Routing(_Strict):
    grid: FieldPath
    division: FieldPath | None = None


class ProcessDefinition(_Strict):
    """One collaborative process: when a form opens, what it holds, who receives it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: Label
    entity: Literal["resident", "household"]
    enabled: bool = True
    trigger: Condition
    fields: list[FormField]
    manual_fields: list[ManualField] = Field(default_factory=list)
    routing: Routing

    @model_validator(mode="after")
    def _unique_names(self) -> ProcessDefinition:
        names = [f.name for f in self.fields] + [f.name for f in self.manual_fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"field names used twice: {', '.join(duplicates)}")
        return self


def load_process(path: Path) -> ProcessDefinition:
    """The definition in ``path``; raises ProcessDefinitionError naming the file and the bad keys."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProcessDefinitionError(f"{path.name}: cannot read: {exc}") from exc
    try:
        return ProcessDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ProcessDefinitionError(f"{path.name}: {problems}") from exc


def load_processes(directory: Path = PROCESSES_DIR, enabled: list[str] | None = None) -> list[ProcessDefinition]:
    """Every definition in ``directory`` (sorted by id), keeping those enabled in the file and, when
    ``enabled`` is given, named in it."""
    processes = [load_process(p) for p in sorted(directory.glob("*.yaml"))]
    ids = [p.id for p in processes]
    if len(set(ids)) != len(ids):
        raise ProcessDefinitionError(f"process ids used twice in {directory}: {ids}")
    if enabled is not None:
        unknown = set(enabled) - set(ids)
        if unknown:
            raise ProcessDefinitionError(f"EXCHANGE_PROCESSES_ENABLED names unknown processes: {sorted(unknown)}")
    return sorted(
        (p for p in processes if p.enabled and (enabled is None or p.id in enabled)), key=lambda p: p.id
    )
