"""The schema registry over both stores: versions, deletes, modes, and the data standards it loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from databases import fresh_postgres_database

from exchange.errors import (
    IncompatibleSchema,
    InvalidCompatibilityLevel,
    InvalidSchema,
    InvalidVersion,
    SchemaNotFound,
    SubjectNotFound,
    UnknownSchemaId,
    VersionNotFound,
)
from exchange.registry import MemoryRegistryStore, SchemaRegistry, register_standards, schema_id
from exchange.registry.sql_store import SqlRegistryStore
from exchange.registry.standards import load_standard
from exchange.state import StateStore


def record(*fields: dict[str, Any], name: str = "T") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


A = {"name": "a", "type": "int"}
B_DEFAULT = {"name": "b", "type": "string", "default": ""}
B_REQUIRED = {"name": "b", "type": "string"}


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SchemaRegistry]:
    """A registry on each store: in memory, and in the SQL state store on SQLite and on PostgreSQL."""
    if request.param == "memory":
        yield SchemaRegistry(MemoryRegistryStore())
        return
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database(request.getfixturevalue("postgres_server")))
        store = StateStore(url)
        store.create_schema()
        stack.callback(store.close)
        yield SchemaRegistry(SqlRegistryStore(store.engine))


def test_identical_schema_gets_the_same_id_and_version(registry: SchemaRegistry) -> None:
    """Registering again (in any JSON spelling) returns what is already there."""
    first = registry.register("t-value", record(A))
    again = registry.register("t-value", json.dumps(record(A), indent=4))
    assert (again.id, again.version) == (first.id, 1)
    assert first.id == schema_id(record(A))
    assert registry.versions("t-value") == [first]


def test_backward_transitive_is_the_default_and_names_every_reason(registry: SchemaRegistry) -> None:
    """A new required field is refused with its path; a field with a default is accepted."""
    registry.register("t-value", record(A))
    assert registry.mode("t-value").value == "BACKWARD_TRANSITIVE"
    with pytest.raises(IncompatibleSchema) as refused:
        registry.register("t-value", record(A, B_REQUIRED))
    assert any("b" in reason for reason in refused.value.reasons)
    assert registry.register("t-value", record(A, B_DEFAULT)).version == 2


def test_modes_are_per_subject_with_a_global_fallback(registry: SchemaRegistry) -> None:
    """NONE on one subject lets anything in there, and leaves the others strict."""
    registry.register("loose-value", record(A))
    registry.register("strict-value", record(A))
    registry.set_mode("NONE", "loose-value")
    assert registry.register("loose-value", record(B_REQUIRED)).version == 2
    with pytest.raises(IncompatibleSchema):
        registry.register("strict-value", record(B_REQUIRED))
    registry.set_mode("FULL")
    assert registry.mode("strict-value").value == "FULL"
    assert registry.mode("loose-value").value == "NONE"
    registry.set_mode(None, "loose-value")
    assert registry.mode("loose-value").value == "FULL"
    with pytest.raises(InvalidCompatibilityLevel):
        registry.set_mode("SOMETIMES")


def test_lookups_raise_the_confluent_errors(registry: SchemaRegistry) -> None:
    """Missing subjects, versions and schemas each have their own error (and code)."""
    registry.register("t-value", record(A))
    with pytest.raises(SubjectNotFound) as subject:
        registry.versions("nope-value")
    assert subject.value.error_code == 40401
    with pytest.raises(VersionNotFound):
        registry.version("t-value", 7)
    with pytest.raises(InvalidVersion):
        registry.version("t-value", "first")
    with pytest.raises(SchemaNotFound):
        registry.lookup("t-value", record(A, B_DEFAULT))
    with pytest.raises(UnknownSchemaId):
        registry.by_id(12345)
    with pytest.raises(InvalidSchema) as invalid:
        registry.register("t-value", "{not json")
    assert invalid.value.error_code == 42201


def test_soft_delete_hides_versions_but_ids_still_resolve(registry: SchemaRegistry) -> None:
    """Payloads written with a deleted version stay decodable; a permanent delete needs a soft one first."""
    v1 = registry.register("t-value", record(A))
    registry.register("t-value", record(A, B_DEFAULT))
    assert registry.delete_version("t-value", 1) == 1
    assert [v.version for v in registry.versions("t-value")] == [2]
    assert [v.version for v in registry.versions("t-value", include_deleted=True)] == [1, 2]
    assert registry.by_id(v1.id).schema == record(A)
    with pytest.raises(InvalidVersion):
        registry.delete_version("t-value", 2, permanent=True)
    assert registry.delete_subject("t-value") == [2]
    with pytest.raises(SubjectNotFound):
        registry.versions("t-value")
    assert registry.subjects(include_deleted=True) == ["t-value"]
    assert registry.delete_subject("t-value", permanent=True) == [1, 2]
    assert registry.subjects(include_deleted=True) == []


def test_the_data_standards_load_with_their_history(registry: SchemaRegistry) -> None:
    """Resident v1 (released) and v2 (current) are versions 1 and 2 of its subject, compatible."""
    current = register_standards(registry)
    resident = load_standard("gov.exchange.public_security.Resident")
    versions = registry.versions("public-security.residents-value")
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].schema == resident.released[1]
    assert current["public-security.residents"] == versions[1]
    assert register_standards(registry) == current  # idempotent


def test_sql_registry_is_shared_between_processes(store: StateStore) -> None:
    """A schema registered through one registry object is found by id through another on the same database."""
    writer = SchemaRegistry(SqlRegistryStore(store.engine))
    registered = writer.register("t-value", record(A))
    reader = SchemaRegistry(SqlRegistryStore(store.engine))
    assert reader.by_id(registered.id).schema == record(A)
    assert reader.latest("t-value").version == 1
