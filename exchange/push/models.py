"""Pydantic models generated from the Avro data standards, to validate rows pushed as JSON.

A pushed row is a topic's record without ``meta``, but with the per-row parts of ``meta`` lifted to the
top (``source_record_id``, ``event_time``, ``operation``); the server fills in the rest of ``meta``.
Avro types map to Python types as the codec expects them (dates as ``date``, decimals as ``Decimal``).
"""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, create_model
from pydantic import ValidationError as PydanticValidationError

from exchange.errors import SchemaError
from exchange.identity import parse_resident_id

META_FIELD = "meta"
# Parts of RecordMeta the pusher gives per row; source_department comes from the key, ingest_time is now.
SERVER_META = ("source_department", "ingest_time")
RESIDENT_ID_FIELD = "resident_id"

_INT32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
_INT64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
_PRIMITIVES: dict[str, Any] = {
    "string": str, "int": _INT32, "long": _INT64, "float": float, "double": float,
    "boolean": bool, "bytes": bytes, "null": None,
}
_CONFIG = ConfigDict(extra="forbid", protected_namespaces=())


def _resident_id(value: str) -> str:
    return parse_resident_id(value).number  # the normalised form: upper-case X, legacy numbers upgraded


ResidentIdText = Annotated[str, AfterValidator(_resident_id)]


class _Builder:
    """Turns one schema into Python types, remembering named types for later references by name."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def type_of(self, schema: Any, namespace: str | None, *, field_name: str = "") -> Any:
        if isinstance(schema, list):
            return self._union(schema, namespace, field_name)
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema] if not (schema == "string" and field_name == RESIDENT_ID_FIELD) \
                    else ResidentIdText
            full = schema if "." in schema or namespace is None else f"{namespace}.{schema}"
            for name in (full, schema):
                if name in self.named:
                    return self.named[name]
            raise SchemaError(f"unknown Avro type {schema!r}")
        if not isinstance(schema, dict):
            raise SchemaError(f"not an Avro schema: {schema!r}")
        kind, logical = schema.get("type"), schema.get("logicalType")
        if logical == "date" and kind == "int":
            return datetime.date
        if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
            return AwareDatetime  # a naive time would be read as UTC by the codec: make the pusher say which
        if logical == "decimal" and kind in ("bytes", "fixed"):
            return Annotated[Decimal, Field(max_digits=schema["precision"], decimal_places=schema.get("scale", 0),
                                            allow_inf_nan=False)]
        if logical == "uuid" and kind == "string":
            return uuid.UUID
        if kind == "record":
            return self._record(schema, namespace)
        if kind == "enum":
            return self._name(schema, namespace, Literal[tuple(schema["symbols"])])
        if kind == "fixed":
            return self._name(schema, namespace, Annotated[bytes, Field(min_length=schema["size"],
                                                                        max_length=schema["size"])])
        if kind == "array":
            return list[self.type_of(schema["items"], namespace)]  # type: ignore[misc]
        if kind == "map":
            return dict[str, self.type_of(schema["values"], namespace)]  # type: ignore[misc]
        return self.type_of(kind, namespace, field_name=field_name)  # {"type": "string"} and the like

    def _union(self, branches: list[Any], namespace: str | None, field_name: str) -> Any:
        types = [self.type_of(b, namespace, field_name=field_name) for b in branches if b != "null"]
        if not types:
            return None
        union = types[0]
        for extra in types[1:]:
            union = union | extra
        return union | None if "null" in branches else union

    def _name(self, schema: dict[str, Any], namespace: str | None, python_type: Any) -> Any:
        name = schema["name"]
        space = schema.get("namespace", namespace)
        full = name if "." in name or not space else f"{space}.{name}"
        self.named[full] = self.named[name] = python_type
        return python_type

    def fields(self, schema: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        out = {}
        for field in schema["fields"]:
            python_type = self.type_of(field["type"], namespace, field_name=field["name"])
            default = field.get("default", ...)
            if default is not ... and python_type is not None:
                default = _python_default(python_type, default)
            out[field["name"]] = (python_type, Field(default, description=field.get("doc")))
        return out

    def _record(self, schema: dict[str, Any], namespace: str | None) -> type[BaseModel]:
        name = schema["name"]
        space = schema.get("namespace", namespace)
        model = create_model(name.rsplit(".", 1)[-1], __config__=_CONFIG, __doc__=schema.get("doc"),
                             **self.fields(schema, space))
        return self._name(schema, namespace, model)  # type: ignore[no-any-return]


def _python_default(python_type: Any, default: Any) -> Any:
    """An Avro JSON default as the Python value a model holds (a date default is days since the epoch)."""
    if default is None or python_type is not datetime.date:
        return default
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=default)


class PushedRow(BaseModel):
    """A pushed row; ``meta_fields`` names its fields that belong in the record's ``meta``."""

    model_config = _CONFIG
    meta_fields: ClassVar[tuple[str, ...]] = ()


@lru_cache(maxsize=64)
def _row_model(schema_json: str) -> type[PushedRow]:
    schema = json.loads(schema_json)
    if schema.get("type") != "record":
        raise SchemaError(f"{schema.get('name')}: pushed rows need a record schema")
    builder = _Builder()
    namespace = schema.get("namespace")
    fields: dict[str, Any] = {}
    meta_names: tuple[str, ...] = ()
    for field in schema["fields"]:
        if field["name"] == META_FIELD:
            # Build RecordMeta (and so register the named types it holds) and lift the per-row parts.
            builder.type_of(field["type"], namespace)
            meta_schema = field["type"] if isinstance(field["type"], dict) else None
            if meta_schema is None:
                raise SchemaError(f"{schema['name']}.meta must be expanded inline")
            meta_fields = builder.fields(meta_schema, meta_schema.get("namespace", namespace))
            lifted = {k: v for k, v in meta_fields.items() if k not in SERVER_META}
            meta_names = tuple(lifted)
            fields |= lifted
    fields |= {k: v for k, v in builder.fields(schema, namespace).items() if k != META_FIELD}
    model = create_model(f"{schema['name'].rsplit('.', 1)[-1]}Row", __base__=PushedRow,
                         __doc__=f"A pushed {schema['name']} row.", **fields)
    model.meta_fields = meta_names
    return model


def row_model(schema: dict[str, Any]) -> type[PushedRow]:
    """The model of a pushed row of the (fully expanded) record ``schema``; one model per schema, cached."""
    return _row_model(json.dumps(schema, sort_keys=True))


def row_errors(index: int, exc: PydanticValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors for row ``index`` as ``{"row", "field", "message"}``, the field as a dotted path."""
    out = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append({"row": index, "field": ".".join(str(part) for part in error["loc"]), "message": message})
    return out


def to_record(row: PushedRow, department: str, ingest_time: datetime.datetime) -> dict[str, Any]:
    """The canonical record of a validated ``row``: its fields plus ``meta`` filled by the server."""
    values = row.model_dump()
    meta = {"source_department": department, "ingest_time": ingest_time}
    meta |= {name: values.pop(name) for name in row.meta_fields}
    return {META_FIELD: meta, **values}
