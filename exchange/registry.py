"""Schema registry: subjects (``<topic>-value``), versions and stable global ids.

A schema's id is derived from its normalised JSON (the first 31 bits of its SHA-256), so every
process, machine and restart agrees on it without shared storage, and a payload written years ago
still names the exact schema that wrote it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, UnknownType, load_schema

from exchange.errors import SchemaError, UnknownSchemaId
from exchange.topics import TopicSpec, load_topics
from schemas import AVRO_DIR


def normalised_json(schema: dict[str, Any] | list[Any] | str) -> str:
    """The schema as compact JSON with sorted keys: equal schemas give equal strings."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_id(schema: dict[str, Any] | list[Any] | str) -> int:
    """Stable global id of ``schema``: a positive 31-bit integer."""
    digest = hashlib.sha256(normalised_json(schema).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One schema version under one subject."""

    id: int
    subject: str
    version: int
    schema: dict[str, Any] = field(repr=False)
    parsed: dict[str, Any] = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.schema.get("name", ""))

    @property
    def schema_str(self) -> str:
        return normalised_json(self.schema)


def load_avro_file(path: Path) -> dict[str, Any]:
    """A schema file with every named type it references expanded inline (looked up beside it)."""
    try:
        return dict(load_schema(str(path), _write_hint=False))
    except (OSError, ValueError, SchemaParseException, UnknownType) as exc:
        raise SchemaError(f"cannot load schema {path.name}: {exc}") from exc


class SchemaRegistry:
    """Holds schemas by subject and by id; ``register`` is idempotent."""

    def __init__(self) -> None:
        self._by_id: dict[int, RegisteredSchema] = {}
        self._subjects: dict[str, list[RegisteredSchema]] = {}

    @classmethod
    def from_directory(
        cls, avro_dir: Path = AVRO_DIR, topics: dict[str, TopicSpec] | None = None
    ) -> SchemaRegistry:
        """A registry holding each topic's value schema from ``avro_dir`` under ``<topic>-value``."""
        registry = cls()
        for spec in (topics or load_topics()).values():
            path = avro_dir / f"{spec.schema_name}.avsc"
            if not path.exists():
                raise SchemaError(f"topic {spec.name} names schema {spec.schema_name}, but {path} is missing")
            registry.register(spec.subject, load_avro_file(path))
        return registry

    def register(self, subject: str, schema: dict[str, Any] | str) -> RegisteredSchema:
        """Add ``schema`` as the next version of ``subject`` (or return the version it already is)."""
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except json.JSONDecodeError as exc:
                raise SchemaError(f"schema for {subject} is not JSON: {exc}") from exc
        assert isinstance(schema, dict)
        sid = schema_id(schema)
        versions = self._subjects.setdefault(subject, [])
        for existing in versions:
            if existing.id == sid:
                return existing
        try:
            parsed = parse_schema(schema)
        except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
            raise SchemaError(f"invalid Avro schema for {subject}: {exc}") from exc
        registered = RegisteredSchema(sid, subject, len(versions) + 1, schema, parsed)
        versions.append(registered)
        self._by_id.setdefault(sid, registered)
        return registered

    def by_id(self, sid: int) -> RegisteredSchema:
        try:
            return self._by_id[sid]
        except KeyError:
            raise UnknownSchemaId(f"no schema with id {sid}") from None

    def latest(self, subject: str) -> RegisteredSchema:
        versions = self._subjects.get(subject)
        if not versions:
            raise SchemaError(f"no schema registered under subject {subject!r}")
        return versions[-1]

    def versions(self, subject: str) -> list[RegisteredSchema]:
        return list(self._subjects.get(subject, []))

    def subjects(self) -> list[str]:
        return sorted(self._subjects)
