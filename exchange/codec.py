"""Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body."""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import validate

from exchange.errors import CodecError, ValidationError
from exchange.payload_bounds import PayloadBounds
from exchange.registry import RegisteredSchema, SchemaRegistry

MAGIC = 0
HEADER = struct.Struct(">bI")



class AvroCodec:
    """Encodes records with a registered schema and decodes payloads by the schema id they carry."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        # By schema id: a schema never changes under its id, so neither does whether its payloads need a walk.
        self._bounds: dict[int, PayloadBounds | None] = {}

    def encode(self, schema: RegisteredSchema, record: dict[str, Any]) -> bytes:
        """``record`` framed for ``schema``; raises ValidationError naming the offending field."""
        out = BytesIO()
        out.write(HEADER.pack(MAGIC, schema.id))
        try:
            schemaless_writer(out, schema.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise self._explain(schema, record, exc) from exc
        return out.getvalue()

    def decode(self, payload: bytes, reader: RegisteredSchema | None = None) -> tuple[RegisteredSchema, Any]:
        """The writer schema and the record; resolved to ``reader`` when given (schema evolution)."""
        if len(payload) < HEADER.size:
            raise CodecError(f"payload of {len(payload)} bytes is shorter than the 5-byte header", "truncated")
        magic, sid = HEADER.unpack_from(payload)
        if magic != MAGIC:
            raise CodecError(f"unknown magic byte {magic} (expected 0: Confluent wire format)", "bad_magic_byte")
        writer = self.registry.by_id(sid)
        try:
            bounds = self._bounds[sid]
        except KeyError:  # first payload of this schema
            bounds = self._bounds[sid] = PayloadBounds.needed_for(writer.parsed)
        if bounds is not None and (excess := bounds.excess(payload, HEADER.size)):
            raise CodecError(f"cannot decode {writer.name} (schema id {sid}): {excess}", "payload_too_complex")
        body = BytesIO(payload)
        body.seek(HEADER.size)
        try:
            # Resolving against the reader costs time; skip it when the payload was written with that very schema.
            resolve = reader.parsed if reader is not None and reader.id != sid else None
            record = schemaless_reader(body, writer.parsed, resolve)
        except EOFError as exc:
            raise CodecError(f"cannot decode {writer.name} (schema id {sid}): truncated: {exc}", "truncated") from exc
        except Exception as exc:  # fastavro raises many types on corrupt input; all mean the same here
            raise CodecError(f"cannot decode {writer.name} (schema id {sid}): {type(exc).__name__}: {exc}",
                             "undecodable" if reader is None or reader.id == sid else "schema_mismatch") from exc
        if body.tell() != len(payload):
            raise CodecError(f"{len(payload) - body.tell()} trailing bytes after a {writer.name} record",
                             "trailing_bytes")
        return writer, record

    @staticmethod
    def _explain(schema: RegisteredSchema, record: Any, exc: Exception) -> ValidationError:
        try:
            validate(record, schema.parsed, raise_errors=True)
        except AvroValidationError as invalid:
            fields = [(str(e).split(" ")[0], str(e)) for e in invalid.errors]
            return ValidationError(f"record does not match {schema.name}: {invalid}", fields)
        except Exception:  # validate itself may choke on the same bad value; keep the original reason
            pass
        return ValidationError(f"record does not match {schema.name}: {type(exc).__name__}: {exc}")
