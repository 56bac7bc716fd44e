"""Collaborative-process definitions (YAML under ``schemas/processes/``), validated on load.

A county adjusts the reference processes without code: ``EXCHANGE_PROCESSES_DIR`` names a folder of
its own definitions, each replacing the reference definition with the same id (or adding a new one),
and ``EXCHANGE_PROCESSES_ENABLED`` lists the ids to run. Conditions are in
:mod:`exchange.processes.conditions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from exchange.errors import ProcessDefinitionError
from exchange.processes.conditions import Condition, FactFilter, FieldPath, Strict, household_problems
from schemas import PROCESSES_DIR


class Label(Strict):
    zh: str
    en: str


class Collect(FactFilter):
    """The list of one field over the matching facts (e.g. every active programme)."""

    value: str


class Column(Strict):
    """One column of a per-member table: from sources in precedence order, computed, or collected."""

    name: str
    label: Label
    sources: list[FieldPath] = Field(default_factory=list)
    computed: Literal["age"] | None = None
    collect: Collect | None = None
    max_age_days: int | None = Field(None, ge=1, description="Older source values count as missing.")

    @model_validator(mode="after")
    def _one_origin(self) -> Column:
        origins = sum([bool(self.sources), self.computed is not None, self.collect is not None])
        if origins != 1:
            raise ValueError(f"field {self.name!r} needs exactly one of sources, computed, collect")
        return self


class MemberTable(Strict):
    """A table with one row per household member (household processes): each row is the member's
    resident view plus their ``household_member`` fact."""

    columns: list[Column] = Field(min_length=1)
    include_former: bool = Field(False, description="List members who left the household too.")


class FormField(Column):
    """A pre-filled field: from sources in precedence order, computed, collected, or a member table."""

    sources: list[FieldPath] = Field(default_factory=list)
    members: MemberTable | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> FormField:
        origins = sum([bool(self.sources), self.computed is not None, self.collect is not None,
                       self.members is not None])
        if origins != 1:
            raise ValueError(f"field {self.name!r} needs exactly one of sources, computed, collect, members")
        return self


class ManualField(Strict):
    """A field only a person can fill in."""

    name: str
    label: Label
    kind: Literal["text", "boolean", "choice", "number", "date", "table"] = "text"
    choices: list[str] = Field(default_factory=list)
    required: bool = True


class Routing(Strict):
    """Whose inbox receives the form: the grid (and division) read from the entity view."""

    grid: FieldPath
    division: FieldPath | None = None


class NoticeSpec(Strict):
    """A notice record sent to a department once per entity (per cycle) when the trigger holds."""

    department: str = Field(pattern=r"^[A-Z_]+$")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="What the notice says, e.g. death.")
    fields: list[str] = Field(min_length=1, description="Form fields copied into the notice, with provenance.")


class ProcessDefinition(Strict):
    """One collaborative process: when a form opens, what it holds, who receives it, whom it tells."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: Label
    entity: Literal["resident", "household"]
    enabled: bool = True
    cycle: Literal["once", "yearly"] = Field("once", description="yearly: a new form every calendar year.")
    trigger: Condition
    fields: list[FormField]
    manual_fields: list[ManualField] = Field(default_factory=list)
    routing: Routing
    notices: list[NoticeSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ProcessDefinition:
        names = [f.name for f in self.fields] + [f.name for f in self.manual_fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"field names used twice: {', '.join(duplicates)}")
        problems = household_problems(self.trigger, self.entity)
        if self.entity != "household" and any(f.members for f in self.fields):
            problems.append("members tables are only for household processes")
        prefilled = {f.name for f in self.fields}
        for notice in self.notices:
            unknown = [n for n in notice.fields if n not in prefilled]
            if unknown:
                problems.append(f"notice to {notice.department} names unknown fields: {', '.join(unknown)}")
        departments = [n.department for n in self.notices]
        if len(set(departments)) != len(departments):
            problems.append("one notice per department")
        if problems:
            raise ValueError("; ".join(problems))
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
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ProcessDefinitionError(f"{path.name}: {problems}") from exc


def _load_folder(directory: Path) -> dict[str, ProcessDefinition]:
    if not directory.is_dir():
        raise ProcessDefinitionError(f"process folder {directory} does not exist")
    found: dict[str, ProcessDefinition] = {}
    for path in sorted(directory.glob("*.yaml")):
        process = load_process(path)
        if process.id in found:
            raise ProcessDefinitionError(f"process id {process.id!r} used twice in {directory}")
        found[process.id] = process
    return found


def load_processes(
    directory: Path | None = None, enabled: list[str] | None = None, *, county_dir: Path | None = None
) -> list[ProcessDefinition]:
    """Every definition (sorted by id), keeping those enabled in the file and, when ``enabled`` is
    given, named in it.

    ``directory`` holds the reference definitions (``schemas/processes``); a definition in
    ``county_dir`` (default: ``EXCHANGE_PROCESSES_DIR``) replaces the one with the same id there, or
    adds a process.
    """
    processes = _load_folder(directory or PROCESSES_DIR)
    county_dir = county_dir or _county_dir()
    if county_dir is not None and county_dir.resolve() != (directory or PROCESSES_DIR).resolve():
        processes.update(_load_folder(county_dir))
    if enabled is not None:
        unknown = set(enabled) - set(processes)
        if unknown:
            raise ProcessDefinitionError(f"EXCHANGE_PROCESSES_ENABLED names unknown processes: {sorted(unknown)}")
    return sorted(
        (p for p in processes.values() if p.enabled and (enabled is None or p.id in enabled)), key=lambda p: p.id
    )


def _county_dir() -> Path | None:
    from exchange.settings import load_settings  # settings read lazily: definitions load without them

    return load_settings().processes_dir


def configured_processes(settings: object) -> list[ProcessDefinition]:
    """The processes ``settings`` enable: the reference set with the county folder
    (``EXCHANGE_PROCESSES_DIR``) laid over it, filtered by ``EXCHANGE_PROCESSES_ENABLED``."""
    county = getattr(settings, "processes_dir", None)
    return load_processes(enabled=getattr(settings, "processes_enabled", None),
                          county_dir=Path(county) if county else None)
