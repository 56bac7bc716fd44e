"""Avro schema compatibility: the specification's resolution rules, the registry modes, and fastavro agreeing."""

from __future__ import annotations

import copy
import dataclasses
import io
from collections import Counter
from typing import Any

import pytest
import strategies
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import load_schema
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st

import exchange.compatibility
from exchange.compatibility import Incompatibility, Kind, Mode, can_read, check
from exchange.compatibility._resolution import MAX_REPORTED
from exchange.errors import SchemaError
from schemas import AVRO_DIR

# Rules of the specification that fastavro (1.13) does not enforce when decoding, so the property test cannot
# expect a decoding failure for them: fastavro decodes a decimal with the writer's scale and never compares it
# with the reader's precision and scale.
FASTAVRO_UNENFORCED = frozenset({Kind.DECIMAL_MISMATCH})


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(name: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


def decimal(precision: int, scale: int, underlying: Any = "bytes") -> dict[str, Any]:
    if isinstance(underlying, dict):
        return {**underlying, "logicalType": "decimal", "precision": precision, "scale": scale}
    return {"type": underlying, "logicalType": "decimal", "precision": precision, "scale": scale}


def found(reader: Any, writer: Any) -> list[tuple[str, str]]:
    """(kind, path) of every incompatibility, sorted: the order of reporting is not part of the contract."""
    return sorted((issue.kind, issue.path) for issue in can_read(reader, writer))


def test_public_names_are_exactly_the_documented_api() -> None:
    """The package exports its five public names and nothing else."""
    assert sorted(exchange.compatibility.__all__) == ["Incompatibility", "Kind", "Mode", "can_read", "check"]
    assert {kind.value for kind in Kind} == {
        "type_mismatch", "name_mismatch", "fixed_size_mismatch", "missing_enum_symbols",
        "reader_field_missing_default", "missing_union_branch", "decimal_mismatch",
    }


def test_incompatibility_is_a_frozen_value() -> None:
    """Results are immutable values that compare by content."""
    issue = can_read("int", "string")[0]
    assert issue == Incompatibility("/", "type_mismatch", issue.message)
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.path = "/elsewhere"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------- primitives

PROMOTIONS = [("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
              ("float", "double"), ("string", "bytes"), ("bytes", "string")]
DEMOTIONS = [("long", "int"), ("float", "int"), ("double", "int"), ("float", "long"), ("double", "long"),
             ("double", "float")]


@pytest.mark.parametrize("primitive", ["null", "boolean", "int", "long", "float", "double", "bytes", "string"])
def test_a_primitive_reads_itself(primitive: str) -> None:
    """Every primitive type reads data written with the same type."""
    assert can_read(primitive, primitive) == []
    assert can_read({"type": primitive}, primitive) == []


@pytest.mark.parametrize(("writer", "reader"), PROMOTIONS)
def test_promotions_of_the_specification_are_readable(writer: str, reader: str) -> None:
    """int→long/float/double, long→float/double, float→double and string↔bytes are promotions."""
    assert can_read(reader, writer) == []


@pytest.mark.parametrize(("writer", "reader"), DEMOTIONS)
def test_demotions_are_type_mismatches(writer: str, reader: str) -> None:
    """A narrower numeric reader cannot read a wider writer."""
    assert found(reader, writer) == [("type_mismatch", "/")]


@pytest.mark.parametrize(("reader", "writer"), [("boolean", "int"), ("null", "string"), ("int", "boolean"),
                                                ("string", "int"), ("bytes", {"type": "array", "items": "bytes"})])
def test_unrelated_types_are_type_mismatches(reader: Any, writer: Any) -> None:
    """Types with no promotion between them do not resolve."""
    assert found(reader, writer) == [("type_mismatch", "/")]


def test_type_mismatch_message_names_both_types() -> None:
    """The message names the reader's and the writer's type."""
    [issue] = can_read("int", "long")
    assert "reader's int" in issue.message
    assert "writer's long" in issue.message


# ---------------------------------------------------------------------------------------------- records

PERSON = record("Person", field("id", "int"), field("name", "string"))

RECORD_RULES = [
    pytest.param(record("Person", field("id", "int"), field("name", "string"), field("email", "string", default="")),
                 PERSON, [], id="reader-field-missing-in-writer-with-default"),
    pytest.param(record("Person", field("id", "int"), field("name", "string"), field("email", "string")),
                 PERSON, [("reader_field_missing_default", "/fields/email")],
                 id="reader-field-missing-without-default"),
    pytest.param(record("Person", field("id", "int"), field("phone", ["null", "string"], default=None)),
                 PERSON, [], id="null-default-counts-as-a-default"),
    pytest.param(record("Person", field("id", "int")), PERSON, [], id="writer-field-missing-in-reader-is-ignored"),
    pytest.param(record("Person", field("name", "string"), field("id", "long")), PERSON, [], id="field-order-is-free"),
    pytest.param(record("Person", field("id", "int"), field("full_name", "string", aliases=["name"])),
                 PERSON, [], id="reader-field-alias-matches-writer-field"),
    pytest.param(record("Person", field("id", "int"), field("full_name", "string")),
                 PERSON, [("reader_field_missing_default", "/fields/full_name")], id="renamed-field-without-alias"),
    pytest.param(record("Person", field("id", "string"), field("name", "string")),
                 PERSON, [("type_mismatch", "/fields/id")], id="field-type-changed"),
    pytest.param(record("Person", field("id", "int"), field("name", "string"), namespace="b"),
                 {**PERSON, "namespace": "a"}, [], id="names-compare-unqualified"),
    pytest.param(record("b.Person", field("id", "int")), {**PERSON, "name": "a.Person"}, [],
                 id="dotted-full-names-compare-unqualified"),
    pytest.param(record("Resident", field("id", "int")), PERSON, [("name_mismatch", "/")], id="record-renamed"),
    pytest.param(record("Resident", field("id", "int"), aliases=["Person"]), PERSON, [],
                 id="record-alias-matches-writer-name"),
    pytest.param(record("Resident", field("id", "int"), namespace="new", aliases=["old.Person"]),
                 {**PERSON, "namespace": "old"}, [], id="record-alias-with-full-name"),
    pytest.param(record("Person", field("id", "int")), {"type": "record", "name": "Person", "fields": []},
                 [("reader_field_missing_default", "/fields/id")], id="empty-writer-record"),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), RECORD_RULES)
def test_record_rules(reader: Any, writer: Any, expected: list[tuple[str, str]]) -> None:
    """Records match by unqualified name or reader alias; fields by name or reader field alias, else need a default."""
    assert found(reader, writer) == expected


def test_missing_default_message_names_field_and_both_records() -> None:
    """The message says which reader field lacks a default and which writer record lacks the field."""
    [issue] = can_read(record("Person", field("email", "string")), PERSON)
    assert "'email'" in issue.message
    assert "record 'Person'" in issue.message


def test_name_mismatch_message_names_both_records() -> None:
    """The message names the reader's and the writer's record."""
    [issue] = can_read(record("Resident", field("id", "int")), PERSON)
    assert "'Resident'" in issue.message
    assert "'Person'" in issue.message


def test_every_incompatibility_is_reported_not_just_the_first() -> None:
    """Three broken fields give three incompatibilities, one per field path."""
    writer = record("R", field("a", "long"), field("c", enum("E", "X", "Y")), field("d", fixed("F", 4)))
    reader = record("R", field("a", "int"), field("b", "string"), field("c", enum("E", "X")), field("d", fixed("F", 8)))
    assert found(reader, writer) == [
        ("fixed_size_mismatch", "/fields/d"),
        ("missing_enum_symbols", "/fields/c"),
        ("reader_field_missing_default", "/fields/b"),
        ("type_mismatch", "/fields/a"),
    ]


# ------------------------------------------------------------------------------------------ enums, fixed

COLOUR = enum("Colour", "RED", "GREEN")

ENUM_AND_FIXED_RULES = [
    pytest.param(COLOUR, COLOUR, [], id="same-enum"),
    pytest.param(enum("Colour", "RED", "GREEN", "BLUE"), COLOUR, [], id="reader-adds-symbol"),
    pytest.param(enum("Colour", "GREEN", "RED"), COLOUR, [], id="symbol-order-is-free"),
    pytest.param(COLOUR, enum("Colour", "RED", "GREEN", "BLUE"), [("missing_enum_symbols", "/")],
                 id="writer-symbol-unknown-to-reader"),
    pytest.param(enum("Colour", "RED", "GREEN", "OTHER", default="OTHER"), enum("Colour", "RED", "GREEN", "BLUE"), [],
                 id="reader-enum-default-absorbs-unknown-symbols"),
    pytest.param(enum("Hue", "RED", "GREEN"), COLOUR, [("name_mismatch", "/")], id="enum-renamed"),
    pytest.param(enum("Hue", "RED", "GREEN", aliases=["Colour"]), COLOUR, [], id="enum-alias"),
    pytest.param(fixed("Digest", 16), fixed("Digest", 16), [], id="same-fixed"),
    pytest.param(fixed("Digest", 32), fixed("Digest", 16), [("fixed_size_mismatch", "/")], id="fixed-resized"),
    pytest.param(fixed("Hash", 16), fixed("Digest", 16), [("name_mismatch", "/")], id="fixed-renamed"),
    pytest.param(fixed("Hash", 16, aliases=["Digest"]), fixed("Digest", 16), [], id="fixed-alias"),
    pytest.param(fixed("Hash", 8), fixed("Digest", 16), [("fixed_size_mismatch", "/"), ("name_mismatch", "/")],
                 id="fixed-renamed-and-resized"),
    pytest.param(fixed("Digest", 16), "bytes", [("type_mismatch", "/")], id="fixed-does-not-read-bytes"),
    pytest.param("string", COLOUR, [("type_mismatch", "/")], id="string-does-not-read-enum"),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), ENUM_AND_FIXED_RULES)
def test_enum_and_fixed_rules(reader: Any, writer: Any, expected: list[tuple[str, str]]) -> None:
    """Enums need every writer symbol or a reader default; fixeds need the same name and size."""
    assert found(reader, writer) == expected


def test_missing_symbols_message_lists_the_symbols() -> None:
    """The message lists the writer symbols the reader lacks."""
    [issue] = can_read(COLOUR, enum("Colour", "RED", "GREEN", "BLUE", "CYAN"))
    assert "['BLUE', 'CYAN']" in issue.message


# ------------------------------------------------------------------------------------------ arrays, maps

CONTAINER_RULES = [
    pytest.param({"type": "array", "items": "long"}, {"type": "array", "items": "int"}, [], id="array-items-promoted"),
    pytest.param({"type": "array", "items": "int"}, {"type": "array", "items": "long"}, [("type_mismatch", "/items")],
                 id="array-items-demoted"),
    pytest.param({"type": "map", "values": "double"}, {"type": "map", "values": "float"}, [], id="map-values-promoted"),
    pytest.param({"type": "map", "values": "string"}, {"type": "map", "values": "int"},
                 [("type_mismatch", "/values")], id="map-values-changed"),
    pytest.param({"type": "array", "items": "int"}, {"type": "map", "values": "int"}, [("type_mismatch", "/")],
                 id="array-does-not-read-map"),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), CONTAINER_RULES)
def test_array_and_map_rules(reader: Any, writer: Any, expected: list[tuple[str, str]]) -> None:
    """Array items and map values resolve recursively."""
    assert found(reader, writer) == expected


# ------------------------------------------------------------------------------------------------ unions

UNION_RULES = [
    pytest.param(["null", "string"], "string", [], id="reader-union-has-writer-type"),
    pytest.param(["null", "long"], "int", [], id="reader-union-branch-promotes-writer"),
    pytest.param(["null", "string"], "int", [("missing_union_branch", "/")], id="reader-union-lacks-writer-type"),
    pytest.param(["null", "string", "int"], ["string", "null"], [], id="writer-union-within-reader-union"),
    pytest.param(["null", "string"], ["null", "int"], [("missing_union_branch", "/1")],
                 id="writer-union-branch-unknown-to-reader"),
    pytest.param("long", ["int", "long"], [], id="plain-reader-reads-every-writer-branch"),
    pytest.param("string", ["null", "string"], [("type_mismatch", "/0")], id="plain-reader-misses-a-writer-branch"),
    pytest.param("double", ["null", "int", "string"], [("type_mismatch", "/0"), ("type_mismatch", "/2")],
                 id="plain-reader-misses-two-writer-branches"),
    pytest.param(["null", record("A", field("x", "long"))], record("A", field("x", "int")), [],
                 id="reader-union-record-branch-by-name"),
    pytest.param(["null", record("B", field("x", "int"))], record("A", field("x", "int")),
                 [("missing_union_branch", "/")], id="reader-union-record-branch-other-name"),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), UNION_RULES)
def test_union_rules(reader: Any, writer: Any, expected: list[tuple[str, str]]) -> None:
    """Every writer branch must be readable; a reader union reads with its first matching branch."""
    assert found(reader, writer) == expected


def test_unions_of_records_report_inside_the_chosen_branch() -> None:
    """A changed record inside a union is reported at the writer's branch index, then the field."""
    address = record("Address", field("street", "string"))
    parcel = record("Parcel", field("weight", "int"))
    writer = [address, parcel]
    reader = [record("Address", field("street", "string"), field("zip", "string")),
              record("Parcel", field("weight", "long"))]
    assert found(reader, writer) == [("reader_field_missing_default", "/0/fields/zip")]
    assert found(writer, reader) == [("type_mismatch", "/1/fields/weight")]


def test_reader_union_picks_the_first_matching_branch() -> None:
    """As the specification says, the first branch that matches the writer is the one resolved."""
    writer = record("Event", field("at", "long"))
    first = record("Event", field("at", "long"), field("by", "string"))  # matches by name, lacks a default
    second = record("Occurrence", field("at", "long"), aliases=["Event"])  # would resolve, but comes second
    assert found([first, second], writer) == [("reader_field_missing_default", "/fields/by")]


def test_missing_union_branch_message_names_the_union_and_the_writer_type() -> None:
    """The message shows the reader union's branches and the writer's type."""
    [issue] = can_read(["null", "string"], "int")
    assert "union [null, string]" in issue.message
    assert "writer's int" in issue.message


# ---------------------------------------------------------------------------------------- logical types

LOGICAL_RULES = [
    pytest.param(decimal(10, 2), decimal(10, 2), [], id="same-decimal"),
    pytest.param(decimal(10, 3), decimal(10, 2), [("decimal_mismatch", "/")], id="decimal-scale-changed"),
    pytest.param(decimal(12, 2), decimal(10, 2), [("decimal_mismatch", "/")], id="decimal-precision-changed"),
    pytest.param(decimal(10, 2, fixed("Money", 8)), decimal(12, 2, fixed("Money", 8)), [("decimal_mismatch", "/")],
                 id="fixed-decimal-precision-changed"),
    pytest.param("bytes", decimal(10, 2), [], id="plain-bytes-reads-decimal"),
    pytest.param(decimal(10, 2), "bytes", [], id="decimal-reads-plain-bytes"),
    pytest.param(decimal(10, 2), decimal(10, 2, fixed("Money", 8)), [("type_mismatch", "/")],
                 id="bytes-decimal-does-not-read-fixed-decimal"),
    pytest.param({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 5}, decimal(10, 2), [],
                 id="invalid-decimal-is-plain-bytes"),
    pytest.param({"type": "long", "logicalType": "timestamp-micros"},
                 {"type": "long", "logicalType": "timestamp-millis"}, [], id="other-logical-types-use-underlying-type"),
    pytest.param({"type": "long", "logicalType": "timestamp-millis"}, {"type": "int", "logicalType": "date"}, [],
                 id="logical-types-promote-like-their-underlying-types"),
    pytest.param({"type": "int", "logicalType": "date"}, {"type": "long", "logicalType": "timestamp-millis"},
                 [("type_mismatch", "/")], id="logical-types-demote-like-their-underlying-types"),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), LOGICAL_RULES)
def test_logical_type_rules(reader: Any, writer: Any, expected: list[tuple[str, str]]) -> None:
    """Underlying types decide, except that two decimals must agree on precision and scale (spec, Decimal)."""
    assert found(reader, writer) == expected


# ------------------------------------------------------------------------------------------- nesting


def test_nested_record_field_path() -> None:
    """A problem inside a nested record is reported with the path through both records."""
    meta = record("RecordMeta", field("event_time", "long"), field("source", "string"))
    writer = record("Resident", field("meta", meta), field("name", "string"))
    reader = copy.deepcopy(writer)
    reader["fields"][0]["type"]["fields"][0]["type"] = "int"
    assert found(reader, writer) == [("type_mismatch", "/fields/meta/fields/event_time")]


def test_arrays_of_records_and_maps_of_records() -> None:
    """Array items and map values that are records report through /items and /values."""
    member = record("Member", field("age", "int"))
    writer = record("Household", field("members", {"type": "array", "items": member}),
                    field("by_grid", {"type": "map", "values": record("Grid", field("code", "string"))}))
    reader = record("Household", field("members", {"type": "array", "items": record("Member", field("age", "string"))}),
                    field("by_grid", {"type": "map", "values": record("Grid", field("code", "string"),
                                                                      field("level", "int"))}))
    assert found(reader, writer) == [
        ("reader_field_missing_default", "/fields/by_grid/values/fields/level"),
        ("type_mismatch", "/fields/members/items/fields/age"),
    ]


def test_optional_record_field_path_goes_through_the_writer_branch() -> None:
    """Inside a union field the path names the writer's branch index before the record's fields."""
    writer = record("Resident", field("home", ["null", record("Address", field("street", "string"))], default=None))
    reader = record("Resident", field("home", ["null", record("Address", field("street", "string"),
                                                              field("zip", "string"))], default=None))
    assert found(reader, writer) == [("reader_field_missing_default", "/fields/home/1/fields/zip")]


def test_project_standard_change_is_reported_at_its_path() -> None:
    """Demoting RecordMeta.event_time in the real Resident standard is reported at /fields/meta/fields/event_time."""
    resident = dict(load_schema(str(AVRO_DIR / "gov.exchange.public_security.Resident.avsc"), _write_hint=False))
    assert check(resident, [resident], Mode.FULL_TRANSITIVE) == []
    changed = copy.deepcopy(resident)
    meta = next(spec for spec in changed["fields"] if spec["name"] == "meta")["type"]
    next(spec for spec in meta["fields"] if spec["name"] == "event_time")["type"] = "int"
    assert [(i.kind, i.path) for i in check(changed, [resident], Mode.BACKWARD)] == [
        ("type_mismatch", "/fields/meta/fields/event_time")
    ]


# ------------------------------------------------------------------------------- names and references

PAINT = {
    "type": "record", "name": "Paint", "namespace": "shop",
    "fields": [
        field("primary", enum("Colour", "RED", "GREEN")),
        field("secondary", "Colour"),  # resolved in the enclosing namespace: shop.Colour
        field("trim", record("Trim", field("colour", "shop.Colour"), namespace="other")),
    ],
}


def test_named_types_are_resolved_by_reference() -> None:
    """A type defined once and referenced by short or full name is compared at every place it is used."""
    reader = copy.deepcopy(PAINT)
    reader["fields"][0]["type"]["symbols"] = ["RED"]
    assert can_read(PAINT, PAINT) == []
    assert can_read(PAINT, reader) == []
    assert found(reader, PAINT) == [
        ("missing_enum_symbols", "/fields/primary"),
        ("missing_enum_symbols", "/fields/secondary"),
        ("missing_enum_symbols", "/fields/trim/fields/colour"),
    ]


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param(record("R", field("a", "Nowhere")), id="unknown-name"),
        pytest.param(record("R", field("a", "Colour"), field("b", enum("Colour", "X"))), id="used-before-defined"),
        pytest.param(record("R", field("a", enum("E", "X")), field("b", enum("E", "Y"))), id="defined-twice"),
        pytest.param(enum("E", "X", default="Y"), id="enum-default-not-a-symbol"),
        pytest.param(["null", ["int", "string"]], id="union-in-union"),
        pytest.param({"type": "record", "name": "R"}, id="record-without-fields"),
        pytest.param({"type": "fixed", "name": "F"}, id="fixed-without-size"),
        pytest.param({"name": "x"}, id="object-without-type"),
        pytest.param(42, id="not-a-schema"),
    ],
)
def test_invalid_schemas_raise_schema_error(schema: Any) -> None:
    """A schema that is not valid Avro raises SchemaError, which is also a ValueError."""
    with pytest.raises(SchemaError):
        can_read(schema, "int")
    with pytest.raises(ValueError, match=r"."):
        can_read("int", schema)


# ----------------------------------------------------------------------------------------------- recursion

LINKED_LIST = record("Node", field("value", "int"), field("next", ["null", "Node"], default=None))


def test_recursive_schema_reads_itself() -> None:
    """A self-referencing record resolves against itself without looping."""
    assert can_read(LINKED_LIST, LINKED_LIST) == []


def test_recursive_schema_reports_each_problem_once() -> None:
    """Problems of a recursive record are reported once, at the shallowest place, not at every depth."""
    reader = record("Node", field("value", "long"), field("label", "string"), field("next", ["null", "Node"]))
    assert found(reader, LINKED_LIST) == [("reader_field_missing_default", "/fields/label")]
    assert found(LINKED_LIST, record("Node", field("value", "long"), field("next", ["null", "Node"]))) == [
        ("type_mismatch", "/fields/value")
    ]


def test_mutually_recursive_schemas_terminate() -> None:
    """Records that refer to each other terminate; a record reused elsewhere is reported at each place of use."""
    def tree(leaf_type: str) -> dict[str, Any]:
        branch = record("Branch", field("leaf", leaf_type), field("parent", ["null", "Tree"], default=None))
        return record("Tree", field("branches", {"type": "array", "items": branch}),
                      field("left", ["null", "Branch"], default=None))

    assert can_read(tree("long"), tree("int")) == []
    assert found(tree("int"), tree("long")) == [
        ("type_mismatch", "/fields/branches/items/fields/leaf"),
        ("type_mismatch", "/fields/left/1/fields/leaf"),
    ]


def test_a_type_reused_at_exponentially_many_places_gives_a_bounded_report() -> None:
    """Forty records, each using the next one twice, are checked quickly and report at most MAX_REPORTED paths."""
    def chain(leaf: str) -> dict[str, Any]:
        inner: Any = record("L40", field("x", leaf))
        for level in range(39, -1, -1):
            inner = record(f"L{level}", field("left", inner), field("right", f"L{level + 1}"))
        return inner

    issues = can_read(chain("int"), chain("long"))
    assert len(issues) == MAX_REPORTED
    assert {issue.kind for issue in issues} == {"type_mismatch"}
    assert issues[0].path == "/fields/left" * 40 + "/fields/x"


def test_a_schema_nested_too_deeply_is_a_schema_error() -> None:
    """A schema nested thousands of levels deep raises SchemaError rather than crashing the interpreter."""
    deep: Any = "int"
    for _ in range(5000):
        deep = {"type": "array", "items": deep}
    with pytest.raises(SchemaError, match="nested too deeply"):
        can_read(deep, deep)


# ------------------------------------------------------------------------------------------------- modes

# Three versions where the latest agrees with the candidate but the oldest does not, in both directions:
# v1 has a field b without default that the candidate lacks; the candidate has a field a without default
# that v1 lacks. v2 and v3 bridge them.
V1 = record("Account", field("id", "int"), field("b", "string"))
V2 = record("Account", field("id", "int"), field("b", "string", default=""), field("a", "string"))
V3 = record("Account", field("id", "int"), field("a", "string"))
CANDIDATE = record("Account", field("id", "long"), field("a", "string"))
BACKWARD_BREAK = ("reader_field_missing_default", "/fields/a")  # the candidate reading v1
FORWARD_BREAK = ("reader_field_missing_default", "/fields/b")  # v1 reading the candidate
FORWARD_DEMOTION = ("type_mismatch", "/fields/id")  # every old version reading the candidate's long id


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (Mode.NONE, []),
        (Mode.BACKWARD, []),
        (Mode.BACKWARD_TRANSITIVE, [BACKWARD_BREAK]),
        (Mode.FORWARD, [FORWARD_DEMOTION]),
        (Mode.FORWARD_TRANSITIVE, [FORWARD_DEMOTION, FORWARD_BREAK, FORWARD_DEMOTION, FORWARD_DEMOTION]),
        (Mode.FULL, [FORWARD_DEMOTION]),
        (Mode.FULL_TRANSITIVE, [BACKWARD_BREAK, FORWARD_DEMOTION, FORWARD_BREAK, FORWARD_DEMOTION, FORWARD_DEMOTION]),
    ],
)
def test_modes_over_three_versions(mode: Mode, expected: list[tuple[str, str]]) -> None:
    """Each mode compares the candidate with the latest or with every version, in its direction(s)."""
    assert sorted((i.kind, i.path) for i in check(CANDIDATE, [V1, V2, V3], mode)) == sorted(expected)


@pytest.mark.parametrize("mode", list(Mode))
def test_no_existing_versions_means_no_incompatibility(mode: Mode) -> None:
    """The first version of a subject is compatible under every mode."""
    assert check(V1, [], mode) == []


def test_mode_may_be_given_as_its_registry_string() -> None:
    """Modes are spelled as in the Confluent REST API."""
    assert check(CANDIDATE, [V1], "FULL_TRANSITIVE") == check(CANDIDATE, [V1], Mode.FULL_TRANSITIVE) != []


def test_unknown_mode_is_a_value_error() -> None:
    """A mode string that is not one of the seven raises ValueError."""
    with pytest.raises(ValueError, match="SOMETIMES"):
        check(CANDIDATE, [V1], "SOMETIMES")


def test_mode_messages_say_which_version_and_direction() -> None:
    """Each message starts with the comparison it comes from: which schema reads which version."""
    messages = [i.message for i in check(CANDIDATE, [V1, V2, V3], Mode.FULL_TRANSITIVE)]
    assert any(m.startswith("New schema reading data written with existing schema 1 of 3: ") for m in messages)
    assert any(m.startswith("Existing schema 1 of 3 reading data written with the new schema: ") for m in messages)


def test_all_project_standards_are_fully_compatible_with_themselves() -> None:
    """Every data standard in schemas/avro passes FULL_TRANSITIVE against itself, named references included."""
    paths = sorted(AVRO_DIR.glob("*.avsc"))
    assert paths
    for path in paths:
        schema = dict(load_schema(str(path), _write_hint=False))
        assert check(schema, [schema, schema], Mode.FULL_TRANSITIVE) == [], path.name


# ---------------------------------------------------------------------------------- property: fastavro


def _decode_failures(pair: strategies.SchemaPair, records: list[Any]) -> list[str]:
    """The errors fastavro raises reading each record, written with the writer schema, with the reader schema."""
    writer = parse_schema(pair.writer)
    # fastavro 1.13 crashes (TypeError) resolving a named reference inside a union, so it reads through the
    # expanded forms of both schemas; they encode identically, and can_read is given the schemas as written.
    writer_expanded, reader_expanded = parse_schema(pair.writer, expand=True), parse_schema(pair.reader, expand=True)
    failures = []
    for datum in records:
        buffer = io.BytesIO()
        schemaless_writer(buffer, writer, datum)  # outside the try: a bad datum is a bug of the strategies
        buffer.seek(0)
        try:
            schemaless_reader(buffer, writer_expanded, reader_expanded)
        except Exception as exc:  # any failure to decode counts, whatever fastavro calls it
            failures.append(f"{type(exc).__name__}: {exc}")
    return failures


@settings(max_examples=500, deadline=None)
@given(pair=strategies.schema_pairs(), data=st.data())
def test_verdict_agrees_with_fastavro_decoding(pair: strategies.SchemaPair, data: st.DataObject) -> None:
    """Compatible pairs decode every record with fastavro; incompatible ones fail on a covering record."""
    issues = can_read(pair.reader, pair.writer)
    kinds = {issue.kind for issue in issues}
    event("incompatible" if issues else "compatible")
    for kind in sorted(kinds):
        event(f"kind: {kind}")
    covering = strategies.covering_values(pair.writer)
    if not issues:
        records = covering + data.draw(st.lists(strategies.values(pair.writer), max_size=4), label="records")
        assert _decode_failures(pair, records) == []
    elif not kinds <= FASTAVRO_UNENFORCED:
        assert _decode_failures(pair, covering), f"fastavro read everything despite {issues}"


def test_generated_pairs_are_a_meaningful_sample() -> None:
    """Over a fixed sample, both verdicts are common, every kind occurs and fastavro confirms incompatible verdicts."""
    verdicts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    confirmed: Counter[bool] = Counter()

    @settings(max_examples=300, derandomize=True, database=None, deadline=None, phases=[Phase.generate])
    @given(strategies.schema_pairs())
    def sample(pair: strategies.SchemaPair) -> None:
        issues = can_read(pair.reader, pair.writer)
        verdicts["incompatible" if issues else "compatible"] += 1
        kinds.update(issue.kind for issue in issues)
        if issues:
            confirmed[bool(_decode_failures(pair, strategies.covering_values(pair.writer)))] += 1

    sample()
    total = sum(verdicts.values())
    assert total >= 250
    assert 0.25 <= verdicts["compatible"] / total <= 0.75, verdicts
    assert set(kinds) == {kind.value for kind in Kind}, kinds
    assert confirmed[True] >= 0.8 * verdicts["incompatible"], confirmed
