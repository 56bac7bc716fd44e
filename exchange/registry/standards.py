"""The data standards in ``schemas/avro``: current files, their released versions, and registering them.

``schemas/avro/<namespace>.<Name>.avsc`` is the current version of a standard (its top-level
``"version"`` attribute says which). Every released version is kept, fully expanded, as
``schemas/avro/history/<namespace>.<Name>.v<N>.avsc`` (written by ``exchange schemas snapshot``), so
earlier versions stay in the repository and new ones are checked against them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro.schema import SchemaParseException, UnknownType, load_schema

from exchange.errors import SchemaError
from exchange.registry.schema_registry import RegisteredSchema, SchemaRegistry, normalised_json
from exchange.topics import TopicSpec, load_topics
from schemas import AVRO_DIR

HISTORY = "history"
_SNAPSHOT = re.compile(r"^(?P<name>.+)\.v(?P<version>[0-9]+)\.avsc$")


def load_avro_file(path: Path) -> dict[str, Any]:
    """A schema file with every named type it references expanded inline (looked up beside it)."""
    try:
        return dict(load_schema(str(path), _write_hint=False))
    except (OSError, ValueError, SchemaParseException, UnknownType) as exc:
        raise SchemaError(f"cannot load schema {path.name}: {exc}") from exc


def version_of(schema: dict[str, Any]) -> int:
    version = schema.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise SchemaError(f"{schema.get('name')}: \"version\" must be a positive integer, got {version!r}")
    return version


@dataclass(frozen=True)
class Standard:
    """One top-level schema: its current file and its released versions."""

    name: str
    current: dict[str, Any]
    released: dict[int, dict[str, Any]]

    @property
    def version(self) -> int:
        return version_of(self.current)

    def earlier(self) -> list[dict[str, Any]]:
        """Released versions before the current one, oldest first."""
        return [schema for number, schema in sorted(self.released.items()) if number < self.version]

    def edited_in_place(self) -> bool:
        """Whether the current file differs from the released snapshot carrying the same version."""
        snapshot = self.released.get(self.version)
        return snapshot is not None and normalised_json(snapshot) != normalised_json(self.current)


def load_standard(name: str, avro_dir: Path = AVRO_DIR) -> Standard:
    path = avro_dir / f"{name}.avsc"
    if not path.exists():
        raise SchemaError(f"schema {name} is missing: {path}")
    released: dict[int, dict[str, Any]] = {}
    for snapshot in sorted((avro_dir / HISTORY).glob(f"{name}.v*.avsc")):
        match = _SNAPSHOT.match(snapshot.name)
        if match and match["name"] == name:
            try:
                released[int(match["version"])] = json.loads(snapshot.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise SchemaError(f"{snapshot.name} is not JSON: {exc}") from exc
    return Standard(name, load_avro_file(path), released)


def standards(topics: dict[str, TopicSpec] | None = None, avro_dir: Path = AVRO_DIR) -> dict[str, Standard]:
    """The standard behind each topic, by topic name."""
    return {name: load_standard(spec.schema_name, avro_dir) for name, spec in (topics or load_topics()).items()}


def register_standards(
    registry: SchemaRegistry, topics: dict[str, TopicSpec] | None = None
) -> dict[str, RegisteredSchema]:
    """Register each topic's released versions and then its current schema under ``<topic>-value``;
    return the current schema of each topic (what the bus writes and reads it with).

    Idempotent; raises IncompatibleSchema if a current file breaks its subject's mode.
    """
    topics = topics or load_topics()
    current = {}
    for name, standard in standards(topics).items():
        subject = topics[name].subject
        for schema in standard.earlier():
            registry.register(subject, schema)
        current[name] = registry.register(subject, standard.current)
    return current


def write_snapshots(avro_dir: Path = AVRO_DIR) -> list[Path]:
    """Write the released-version snapshot of every current schema that has none; return the new files.

    Refuses (SchemaError) when a snapshot of the same version exists with other content: that
    change needs a new version number.
    """
    written = []
    for standard in standards(avro_dir=avro_dir).values():
        if standard.edited_in_place():
            raise SchemaError(f"{standard.name} v{standard.version} differs from its released snapshot: "
                              f"raise its \"version\" to {standard.version + 1}")
        if standard.version in standard.released:
            continue
        path = avro_dir / HISTORY / f"{standard.name}.v{standard.version}.avsc"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(standard.current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
