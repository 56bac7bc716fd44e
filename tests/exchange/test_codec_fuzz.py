"""Fuzzing the decoder: any bytes decode to a record or raise CodecError / UnknownSchemaId, and quickly.

The three fuzz loops (300,000 inputs, seeded, so a failure reproduces) are marked ``slow``; the tests of
the codec's limits on hostile length prefixes run always.
"""

from __future__ import annotations

import random
import struct
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastavro.schema import load_schema
from fastavro.utils import generate_one

from exchange.codec import AvroCodec
from exchange.errors import CodecError, UnknownSchemaId
from exchange.payload_bounds import MAX_EMPTY_ITEMS, MAX_RECORD_DEPTH
from exchange.registry import RegisteredSchema, SchemaRegistry
from schemas import AVRO_DIR

INPUTS_PER_KIND = 100_000  # three kinds, 300,000 inputs in all
SEED = 20260301
# A decode of these payloads takes tens of microseconds; only a hang or a giant allocation comes near this.
SLOWEST_DECODE_S = 0.5

# Shapes fastavro alone cannot decode safely (see exchange.codec), and one of every length-prefixed kind.
LINK = {"type": "record", "name": "Link", "namespace": "fuzz", "fields": [
    {"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Link"]}]}
TICKS = {"type": "record", "name": "Ticks", "namespace": "fuzz", "fields": [
    {"name": "ticks", "type": {"type": "array", "items": "null"}}, {"name": "note", "type": "string"}]}
CONTAINERS = {"type": "record", "name": "Containers", "namespace": "fuzz", "fields": [
    {"name": "text", "type": "string"}, {"name": "blob", "type": "bytes"},
    {"name": "labels", "type": {"type": "map", "values": "string"}},
    {"name": "counts", "type": {"type": "array", "items": "long"}}]}
EXTRA_FIELD = {"name": "fuzz_extra", "type": ["null", "string"], "default": None}


def _registry() -> tuple[SchemaRegistry, list[RegisteredSchema], dict[int, RegisteredSchema]]:
    """Every schema file, the fuzz shapes, and for each record schema a reader with one more optional field."""
    registry = SchemaRegistry()
    writers = [registry.register(path.stem, dict(load_schema(str(path), _write_hint=False)))
               for path in sorted(AVRO_DIR.glob("*.avsc"))]
    writers += [registry.register(f"fuzz.{schema['name']}", schema) for schema in (LINK, TICKS, CONTAINERS)]
    readers = {
        w.id: registry.register(f"{w.subject}.evolved", {**w.schema, "fields": [*w.schema["fields"], EXTRA_FIELD]})
        for w in writers if isinstance(w.schema, dict) and w.schema.get("type") == "record"
    }
    return registry, writers, readers


REGISTRY, WRITERS, EVOLVED = _registry()
CODEC = AvroCodec(REGISTRY)


def zigzag(n: int) -> bytes:
    """``n`` as an Avro long: zigzag, then a little-endian base-128 varint."""
    n = ((n << 1) ^ (n >> 63)) & (2**64 - 1)
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def header(schema: RegisteredSchema) -> bytes:
    return struct.pack(">bI", 0, schema.id)


def _writer(subject: str) -> RegisteredSchema:
    return next(w for w in WRITERS if w.subject == subject)


def decode_outcome(payload: bytes, reader: RegisteredSchema | None = None) -> tuple[str, float]:
    """What decoding ``payload`` gave and how long it took; any exception but the codec's own fails the test."""
    start = time.perf_counter()
    try:
        CODEC.decode(payload, reader)
        outcome = "decoded"
    except (CodecError, UnknownSchemaId) as exc:
        outcome = type(exc).__name__
    except Exception as exc:  # the point of the test: report the input that escaped the codec's errors
        pytest.fail(f"{type(exc).__name__}: {exc}\npayload={payload.hex()} reader={reader}")
    return outcome, time.perf_counter() - start


def fuzz(inputs: Iterator[tuple[bytes, RegisteredSchema | None]]) -> Counter[str]:
    """Decode every input; the outcomes counted, with the number of inputs and the slowest decode checked."""
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    for payload, reader in inputs:
        outcome, seconds = decode_outcome(payload, reader)
        outcomes[outcome] += 1
        slowest = max(slowest, seconds)
    assert outcomes.total() == INPUTS_PER_KIND
    assert slowest < SLOWEST_DECODE_S, f"one decode took {slowest:.3f} s"
    return outcomes


def _random_body(rng: random.Random, size: int) -> bytes:
    # Half uniform, half small byte values: small varints are plausible lengths, counts and union indexes,
    # so the reader gets deep into the schema instead of failing on the first field.
    return rng.randbytes(size) if rng.random() < 0.5 else bytes(rng.choices(range(16), k=size))


def _valid_payloads(per_schema: int = 25) -> list[tuple[bytes, RegisteredSchema]]:
    """Payloads of random valid records of every writer schema (fastavro's generator, seeded)."""
    state = random.getstate()
    random.seed(SEED)  # generate_one draws from the global generator; put it back afterwards
    try:
        return [(CODEC.encode(w, generate_one(w.parsed)), w) for w in WRITERS for _ in range(per_schema)]
    finally:
        random.setstate(state)


@pytest.mark.slow
def test_random_bytes_decode_or_raise_codec_errors() -> None:
    """Arbitrary bytes, with and without a correct magic byte, give a record or a codec error, never a crash."""
    rng = random.Random(SEED)

    def inputs() -> Iterator[tuple[bytes, None]]:
        for i in range(INPUTS_PER_KIND):
            data = rng.randbytes(rng.randrange(400 if i % 8 == 0 else 40))
            yield (b"\x00" + data if i % 2 else data), None

    outcomes = fuzz(inputs())
    assert set(outcomes) == {"CodecError", "UnknownSchemaId"}


@pytest.mark.slow
def test_real_schema_ids_with_random_bodies_decode_or_raise_codec_errors() -> None:
    """A valid header naming a registered schema, then random bytes, gives a record or a CodecError."""
    rng = random.Random(SEED + 1)

    def inputs() -> Iterator[tuple[bytes, RegisteredSchema | None]]:
        for i in range(INPUTS_PER_KIND):
            writer = WRITERS[i % len(WRITERS)]
            reader = EVOLVED.get(writer.id) if i % 3 == 0 else None
            yield header(writer) + _random_body(rng, rng.randrange(300)), reader

    outcomes = fuzz(inputs())
    assert set(outcomes) == {"decoded", "CodecError"}


@pytest.mark.slow
def test_mutated_truncated_and_padded_records_decode_or_raise_codec_errors() -> None:
    """Valid payloads with a byte changed, cut short or with bytes appended give a record or a codec error."""
    rng = random.Random(SEED + 2)
    corpus = _valid_payloads()

    def inputs() -> Iterator[tuple[bytes, RegisteredSchema | None]]:
        for i in range(INPUTS_PER_KIND):
            payload, writer = corpus[i % len(corpus)]
            data = bytearray(payload)
            kind = i % 4
            if kind == 0:  # one byte changed, anywhere (the header too)
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif kind == 1:  # cut short
                del data[rng.randrange(len(data)):]
            elif kind == 2:  # bytes after the record
                data += rng.randbytes(rng.randrange(1, 9))
            else:  # a few bytes of the body changed
                for _ in range(rng.randrange(2, 5)):
                    data[rng.randrange(5, len(data))] = rng.randrange(256)
            yield bytes(data), (EVOLVED.get(writer.id) if i % 2 else None)

    outcomes = fuzz(inputs())
    assert set(outcomes) == {"decoded", "CodecError", "UnknownSchemaId"}  # the last: a changed header


@pytest.mark.parametrize("length", [2**31, 2**40, 2**62, 2**63 - 1, -(2**40), -1])
@pytest.mark.parametrize(
    ("field", "before", "after"),
    [
        ("string length", b"", b"abc"),
        ("bytes length", zigzag(0), b"abc"),
        ("map count", zigzag(0) * 2, zigzag(1) + b"k" + zigzag(1) + b"v"),
        ("map key length", zigzag(0) * 2 + zigzag(1), b"k"),
        ("array count", zigzag(0) * 3, zigzag(7)),
    ],
)
def test_huge_length_prefixes_fail_fast_without_allocating(field: str, before: bytes, after: bytes,
                                                           length: int) -> None:
    """A length or count of up to 2**63 in a short payload is a prompt CodecError, not gigabytes or a hang."""
    payload = header(_writer("fuzz.Containers")) + before + zigzag(length) + after
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(CodecError, match="cannot decode"):
            CODEC.decode(payload)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 0.1, f"{field} {length}: {seconds:.3f} s"
    assert peak < 1_000_000, f"{field} {length}: {peak:,} bytes allocated"


def test_arrays_of_zero_byte_items_are_capped() -> None:
    """An array of null claiming 2**40 items is refused at once; up to MAX_EMPTY_ITEMS in all still decode."""
    ticks = _writer("fuzz.Ticks")
    note = zigzag(2) + b"ok"
    huge = header(ticks) + zigzag(2**40) + zigzag(0) + note
    start = time.perf_counter()
    with pytest.raises(CodecError, match="array items that take no bytes"):
        CODEC.decode(huge)
    assert time.perf_counter() - start < 0.1

    half = MAX_EMPTY_ITEMS // 2
    at_limit = header(ticks) + zigzag(half) + zigzag(-(MAX_EMPTY_ITEMS - half)) + zigzag(0) + zigzag(0) + note
    assert CODEC.decode(at_limit)[1] == {"ticks": [None] * MAX_EMPTY_ITEMS, "note": "ok"}
    over = header(ticks) + zigzag(half) + zigzag(MAX_EMPTY_ITEMS - half + 1) + zigzag(0) + note
    with pytest.raises(CodecError, match="array items that take no bytes"):
        CODEC.decode(over)


def test_recursive_records_are_capped_before_the_stack_overflows() -> None:
    """A recursive schema decodes MAX_RECORD_DEPTH levels; deeper payloads (fastavro would segfault) are refused."""
    link = _writer("fuzz.Link")

    def chain(depth: int) -> bytes:
        return header(link) + b"".join(zigzag(i) + zigzag(1) for i in range(depth - 1)) + zigzag(depth) + zigzag(0)

    record: dict[str, Any] | None = None
    for value in range(MAX_RECORD_DEPTH, 0, -1):
        record = {"value": value, "next": record}
    assert CODEC.decode(CODEC.encode(link, record or {}))[1] == record
    assert CODEC.decode(chain(MAX_RECORD_DEPTH))[1]["value"] == 0
    for depth in (MAX_RECORD_DEPTH + 1, 100_000):
        with pytest.raises(CodecError, match=f"records nested more than {MAX_RECORD_DEPTH} deep"):
            CODEC.decode(chain(depth))
