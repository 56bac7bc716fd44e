"""The Confluent wire format codec and the schema registry."""

from __future__ import annotations

import contextlib
import struct
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.codec import AvroCodec
from exchange.errors import CodecError, SchemaError, UnknownSchemaId, ValidationError
from exchange.registry import SchemaRegistry, schema_id, standards_registry

REGISTRY = standards_registry()
CODEC = AvroCodec(REGISTRY)
ASSISTANCE = REGISTRY.latest("civil-affairs.assistance-value")
RESIDENT = REGISTRY.latest("public-security.residents-value")
MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def assistance(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "meta": {"source_department": "CIVIL_AFFAIRS", "source_record_id": "MZ2026000001", "event_time": MOMENT,
                 "ingest_time": MOMENT, "operation": "UPSERT"},
        "resident_id": "11010519491231002X",
        "programme": "ELDERLY_ALLOWANCE",
        "status": "ACTIVE",
        "start_date": date(2020, 1, 1),
        "end_date": None,
        "monthly_amount": Decimal("50.00"),
    }
    record.update(changes)
    return record


def test_payload_starts_with_magic_byte_and_big_endian_schema_id() -> None:
    """Standard Kafka tooling finds the schema id where the Confluent format puts it."""
    payload = CODEC.encode(ASSISTANCE, assistance())
    assert payload[0] == 0
    assert struct.unpack(">I", payload[1:5])[0] == ASSISTANCE.id


def test_body_is_plain_avro_binary() -> None:
    """After the header the bytes are exactly what any Avro implementation writes."""
    from io import BytesIO

    record = assistance()
    raw = BytesIO()
    schemaless_writer(raw, ASSISTANCE.parsed, record)
    assert CODEC.encode(ASSISTANCE, record)[5:] == raw.getvalue()


def test_round_trip_keeps_dates_decimals_and_timestamps() -> None:
    """Logical types come back as the Python values that went in."""
    writer, decoded = CODEC.decode(CODEC.encode(ASSISTANCE, assistance(end_date=date(2025, 12, 31))))
    assert writer == ASSISTANCE
    assert decoded["monthly_amount"] == Decimal("50.00")
    assert decoded["end_date"] == date(2025, 12, 31)
    assert decoded["meta"]["event_time"] == MOMENT


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (b"", CodecError, "shorter than the 5-byte header"),
        (b"\x01\x00\x00\x00\x01abc", CodecError, "magic byte 1"),
        (b"\x00\x00\x00\x00\x07abc", UnknownSchemaId, "no schema with id 7"),
    ],
)
def test_bad_framing_is_a_clear_error(payload: bytes, error: type[Exception], match: str) -> None:
    """Garbage, foreign and unknown-schema payloads raise a named error, never a crash."""
    with pytest.raises(error, match=match):
        CODEC.decode(payload)


def test_truncated_and_padded_bodies_are_rejected() -> None:
    """A payload cut short or with bytes after the record is corrupt, not silently accepted."""
    payload = CODEC.encode(ASSISTANCE, assistance())
    with pytest.raises(CodecError, match="cannot decode"):
        CODEC.decode(payload[:-3])
    with pytest.raises(CodecError, match="trailing bytes"):
        CODEC.decode(payload + b"\x00")


def test_record_that_breaks_the_schema_names_the_field() -> None:
    """Encoding a wrong type raises ValidationError that says which field is wrong."""
    with pytest.raises(ValidationError, match="monthly_amount"):
        CODEC.encode(ASSISTANCE, assistance(monthly_amount="六百"))
    with pytest.raises(ValidationError, match="programme"):
        CODEC.encode(ASSISTANCE, assistance(programme="TEMPORARY_RELIEF"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    """Any bytes decode or raise one of the codec's own errors."""
    for payload in (data, b"\x00" + struct.pack(">I", RESIDENT.id) + data):
        with contextlib.suppress(CodecError, UnknownSchemaId):
            CODEC.decode(payload)


def test_schema_ids_are_stable_and_content_derived() -> None:
    """Two registries (two processes) agree on every id, and the id follows the schema's content."""
    other = standards_registry()
    for subject in REGISTRY.subjects():
        assert other.latest(subject).id == REGISTRY.latest(subject).id
    assert schema_id({"type": "string"}) == schema_id({"type": "string"})
    assert schema_id({"type": "string"}) == 4214376  # pinned: changing the id algorithm breaks old payloads


def test_register_is_idempotent_and_versions_grow() -> None:
    """Registering the same schema twice gives the same version; a new schema is the next version."""
    registry = SchemaRegistry()
    first = registry.register("t-value", {"type": "record", "name": "T", "fields": [{"name": "a", "type": "int"}]})
    again = registry.register("t-value", '{"type": "record", "name": "T", "fields": [{"name": "a", "type": "int"}]}')
    second = registry.register("t-value", {"type": "record", "name": "T", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": ""}]})
    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert registry.latest("t-value") == second
    with pytest.raises(SchemaError, match="Invalid schema: UnknownType: nope"):
        registry.register("t-value", {"type": "record", "name": "T", "fields": [{"name": "a", "type": "nope"}]})


def test_every_field_of_the_core_schemas_is_documented() -> None:
    """The data standards explain every field (departments publish against them)."""
    def fields(schema: dict) -> list[dict]:
        out = []
        for f in schema.get("fields", []):
            out.append(f)
            if isinstance(f["type"], dict) and f["type"].get("type") == "record":
                out.extend(fields(f["type"]))
        return out

    for subject in REGISTRY.subjects():
        for f in fields(REGISTRY.latest(subject).schema):
            assert f.get("doc"), f"{subject}: field {f['name']} has no doc"
