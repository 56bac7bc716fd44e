"""Schema registry: subjects (``<topic>-value``), versions, compatibility modes and stable global ids.

A schema's id is derived from its normalised JSON (the first 31 bits of its SHA-256), so every
process, machine and restart agrees on it without shared storage, and a payload written years ago
still names the exact schema that wrote it. Registering an identical schema again returns the same
id (and, under one subject, the same version).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, UnknownType

from exchange.compatibility import Mode, check
from exchange.errors import (
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    SchemaError,
    SchemaNotFound,
    SubjectNotFound,
    UnknownSchemaId,
    VersionNotFound,
)
from exchange.registry.store import MemoryRegistryStore, RegistryStore, VersionRow

DEFAULT_MODE = Mode.BACKWARD_TRANSITIVE
Schema = dict[str, Any] | list[Any] | str


def normalised_json(schema: Schema) -> str:
    """The schema as compact JSON with sorted keys: equal schemas give equal strings."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_id(schema: Schema) -> int:
    """Stable global id of ``schema``: a positive 31-bit integer."""
    digest = hashlib.sha256(normalised_json(schema).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def parse_text(text: str | Schema) -> Schema:
    """A schema from its JSON text (or an already parsed value); raises InvalidSchema (42201)."""
    if not isinstance(text, str):
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text  # a bare primitive name such as string is a valid schema text in Avro
        if text.strip() not in ("null", "boolean", "int", "long", "float", "double", "bytes", "string"):
            raise InvalidSchema(f"Invalid schema: not JSON: {text[:80]!r}") from None
    return value


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One schema, and the subject version it was found under (empty subject when looked up by id)."""

    id: int
    subject: str
    version: int
    schema: Schema = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    deleted: bool = False

    @property
    def name(self) -> str:
        return str(self.schema.get("name", "")) if isinstance(self.schema, dict) else str(self.schema)

    @property
    def schema_str(self) -> str:
        return normalised_json(self.schema)


class SchemaRegistry:
    """Subjects, versions and compatibility over a :class:`RegistryStore` (in memory by default)."""

    def __init__(self, store: RegistryStore | None = None) -> None:
        self.store = store or MemoryRegistryStore()
        self._parsed: dict[int, tuple[Schema, Any]] = {}  # schemas never change under an id: cache forever
        # by_id is on the decode path; its subject/version metadata is refreshed on this process's own
        # changes, and may lag changes made by other processes (the schema itself never does).
        self._by_id: dict[int, RegisteredSchema] = {}

    # -- schemas by id

    def _schema(self, sid: int) -> tuple[Schema, Any] | None:
        cached = self._parsed.get(sid)
        if cached is None:
            text = self.store.schema_text(sid)
            if text is None:
                return None
            cached = self._parse(json.loads(text))
            self._parsed[sid] = cached
        return cached

    @staticmethod
    def _parse(schema: Schema) -> tuple[Schema, Any]:
        try:
            return schema, parse_schema(schema)
        except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidSchema(f"Invalid schema: {type(exc).__name__}: {exc}") from exc

    def by_id(self, sid: int) -> RegisteredSchema:
        """The schema with global id ``sid`` (soft-deleted versions still resolve: payloads exist)."""
        cached = self._by_id.get(sid)
        if cached is not None:
            return cached
        found = self._schema(sid)
        if found is None:
            raise UnknownSchemaId(f"no schema with id {sid}")
        rows = self.store.versions_of(sid)
        first = rows[0] if rows else VersionRow("", 0, sid)
        registered = RegisteredSchema(sid, first.subject, first.version, found[0], found[1], first.deleted)
        self._by_id[sid] = registered
        return registered

    def subjects_of(self, sid: int) -> list[VersionRow]:
        if self._schema(sid) is None:
            raise SchemaNotFound(f"Schema {sid} not found")
        return [r for r in self.store.versions_of(sid) if not r.deleted]

    # -- subjects and versions

    def _resolve(self, row: VersionRow) -> RegisteredSchema:
        found = self._schema(row.schema_id)
        assert found is not None, f"registry store lost schema {row.schema_id}"
        return RegisteredSchema(row.schema_id, row.subject, row.version, found[0], found[1], row.deleted)

    def subjects(self, *, include_deleted: bool = False) -> list[str]:
        return self.store.subjects(include_deleted=include_deleted)

    def versions(self, subject: str, *, include_deleted: bool = False) -> list[RegisteredSchema]:
        """The subject's versions, oldest first; raises SubjectNotFound when it has none."""
        rows = self.store.versions(subject, include_deleted=include_deleted)
        if not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return [self._resolve(r) for r in rows]

    def version(self, subject: str, version: int | str, *, include_deleted: bool = False) -> RegisteredSchema:
        """Version ``version`` (an int, or ``latest`` / -1) of ``subject``."""
        rows = self.versions(subject, include_deleted=include_deleted)
        number = parse_version(version)
        if number == -1:
            return rows[-1]
        for row in rows:
            if row.version == number:
                return row
        raise VersionNotFound(f"Version {number} not found.")

    def latest(self, subject: str) -> RegisteredSchema:
        return self.version(subject, "latest")

    def lookup(self, subject: str, schema: Schema | str) -> RegisteredSchema:
        """The live version of ``subject`` holding exactly ``schema``; raises SubjectNotFound/SchemaNotFound."""
        sid = schema_id(parse_text(schema))
        for row in self.versions(subject):
            if row.id == sid:
                return row
        raise SchemaNotFound("Schema not found")

    # -- compatibility

    def mode(self, subject: str | None = None) -> Mode:
        """The subject's compatibility mode, falling back to the global one, then BACKWARD_TRANSITIVE."""
        configured = (self.store.config(subject) if subject else None) or self.store.config(None)
        return Mode(configured) if configured else DEFAULT_MODE

    def subject_mode(self, subject: str) -> Mode | None:
        configured = self.store.config(subject)
        return Mode(configured) if configured else None

    def set_mode(self, mode: str | None, subject: str | None = None) -> Mode | None:
        """Set (or clear, with None, for a subject) the compatibility mode."""
        if mode is not None:
            try:
                mode = Mode(mode.upper())
            except ValueError:
                raise InvalidCompatibilityLevel(f"Invalid compatibility level {mode!r}") from None
        self.store.set_config(subject, mode)
        return mode

    def incompatibilities(self, subject: str, schema: Schema | str, version: int | str | None = None) -> list[str]:
        """Why ``schema`` may not join ``subject`` (against one version, or per the subject's mode)."""
        candidate = parse_text(schema)
        self._parse(candidate)
        try:
            existing = self.versions(subject)
        except SubjectNotFound:
            return []
        try:
            if version is not None:
                target = self.version(subject, version)
                reasons = check(candidate, [target.schema], self.mode(subject))
            else:
                reasons = check(candidate, [v.schema for v in existing], self.mode(subject))
        except SchemaError as exc:
            raise InvalidSchema(f"Invalid schema: {exc}") from exc
        return [f"{r.path}: {r.message}" for r in reasons]

    # -- changes

    def register(self, subject: str, schema: Schema | str) -> RegisteredSchema:
        """Add ``schema`` as the next version of ``subject``, or return the live version that holds it.

        Raises InvalidSchema (42201) or IncompatibleSchema (409, with every reason).
        """
        candidate = parse_text(schema)
        parsed = self._parse(candidate)
        sid = schema_id(candidate)
        try:
            return self.lookup(subject, candidate)
        except (SubjectNotFound, SchemaNotFound):
            pass
        reasons = self.incompatibilities(subject, candidate)
        if reasons:
            raise IncompatibleSchema(
                f"Schema being registered is incompatible with an earlier schema for subject \"{subject}\" "
                f"({self.mode(subject)}): " + "; ".join(reasons), reasons)
        self.store.put_schema(sid, normalised_json(candidate))
        self._parsed[sid] = parsed
        row = self.store.add_version(subject, sid)
        self._by_id.clear()
        return self._resolve(row)

    def delete_version(self, subject: str, version: int | str, *, permanent: bool = False) -> int:
        """Soft-delete a version (or, when already soft-deleted and ``permanent``, forget it)."""
        target = self.version(subject, version, include_deleted=permanent)
        if permanent:
            if not target.deleted:
                raise InvalidVersion(f"Version {target.version} of {subject} must be soft-deleted first")
            self.store.remove_version(subject, target.version)
        else:
            self.store.set_deleted(subject, target.version)
        self._by_id.clear()
        return target.version

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        versions = self.versions(subject, include_deleted=permanent)
        for v in versions:
            if permanent:
                if not v.deleted:
                    raise InvalidVersion(f"Subject {subject} must be soft-deleted first")
                self.store.remove_version(subject, v.version)
            else:
                self.store.set_deleted(subject, v.version)
        if permanent:
            self.store.set_config(subject, None)
        self._by_id.clear()
        return [v.version for v in versions]


def parse_version(version: int | str) -> int:
    """``latest`` and -1 mean the newest; otherwise a version number from 1; raises InvalidVersion."""
    if version in ("latest", -1, "-1"):
        return -1
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidVersion(f"The specified version '{version}' is not a valid version id.") from None
    if number < 1:
        raise InvalidVersion(f"The specified version '{version}' is not a valid version id.")
    return number
