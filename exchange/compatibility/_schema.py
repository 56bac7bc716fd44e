"""Avro schema JSON parsed into a graph of nodes in which every named type is one shared object.

Sharing is what lets the resolver recognise a recursive type (the same pair of nodes seen again) and
stop there, instead of unrolling the schema forever.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from exchange.errors import SchemaError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


@dataclass(frozen=True, slots=True)
class DecimalSpec:
    """The parameters of a valid ``decimal`` logical type."""

    precision: int
    scale: int

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.scale})"


# The nodes compare and hash by identity (eq=False): a recursive record must never be compared field by field,
# and the resolver keys its memory of record pairs on the objects themselves.


@dataclass(eq=False, slots=True)
class Primitive:
    type: str
    logical_type: str | None = None
    decimal: DecimalSpec | None = None


@dataclass(eq=False, slots=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    type: Node
    has_default: bool


@dataclass(eq=False, slots=True)
class Record:
    type: ClassVar[str] = "record"
    name: str
    aliases: tuple[str, ...]
    fields: list[Field] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Enum:
    type: ClassVar[str] = "enum"
    name: str
    aliases: tuple[str, ...]
    symbols: tuple[str, ...]
    default: str | None


@dataclass(eq=False, slots=True)
class Fixed:
    type: ClassVar[str] = "fixed"
    name: str
    aliases: tuple[str, ...]
    size: int
    decimal: DecimalSpec | None


@dataclass(eq=False, slots=True)
class Array:
    type: ClassVar[str] = "array"
    items: Node


@dataclass(eq=False, slots=True)
class Map:
    type: ClassVar[str] = "map"
    values: Node


@dataclass(eq=False, slots=True)
class Union:
    type: ClassVar[str] = "union"
    branches: tuple[Node, ...]


Named = Record | Enum | Fixed
Node = Primitive | Record | Enum | Fixed | Array | Map | Union


def parse(schema: Any) -> Node:
    """The node graph of one schema JSON value; raises ``SchemaError`` when it is not a valid schema."""
    return _Parser().node(schema, namespace="")


def describe(node: Node) -> str:
    """A short human name for a schema node, e.g. ``record 'gov.Address'`` or ``array of int``."""
    if isinstance(node, Primitive):
        if node.decimal:
            return f"{node.type} ({node.decimal})"
        return f"{node.type} ({node.logical_type})" if node.logical_type else node.type
    if isinstance(node, Fixed):
        return f"fixed '{node.name}' ({node.size} bytes" + (f", {node.decimal})" if node.decimal else ")")
    if isinstance(node, Record | Enum):
        return f"{node.type} '{node.name}'"
    if isinstance(node, Array):
        return f"array of {describe(node.items)}"
    if isinstance(node, Map):
        return f"map of {describe(node.values)}"
    return "union [" + ", ".join(describe(branch) for branch in node.branches) + "]"


def unqualified(name: str) -> str:
    """The last dotted part of a full name: ``gov.exchange.common.Address`` -> ``Address``."""
    return name.rpartition(".")[2]


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _decimal(schema: dict[str, Any], size: int | None = None) -> DecimalSpec | None:
    """The decimal parameters, or None when absent or invalid (the spec says to ignore invalid logical types)."""
    if schema.get("logicalType") != "decimal":
        return None
    precision, scale = schema.get("precision"), schema.get("scale", 0)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (precision, scale)):
        return None
    if not 0 <= scale <= precision or precision < 1:
        return None
    if size is not None and (size < 1 or precision > math.floor(math.log10(2 ** (8 * size - 1) - 1))):
        return None
    return DecimalSpec(precision, scale)


class _Parser:
    """Parses one schema; named types are registered before their bodies so they may refer to themselves."""

    def __init__(self) -> None:
        self.named: dict[str, Named] = {}

    def node(self, schema: Any, namespace: str) -> Node:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, namespace)
        if isinstance(schema, dict):
            return self._object(schema, namespace)
        raise SchemaError(f"not an Avro schema: {_shown(schema)}")

    def _reference(self, name: str, namespace: str) -> Node:
        if name in PRIMITIVES:
            return Primitive(name)
        # An unqualified reference is looked up in the enclosing namespace first, then in the null namespace.
        for candidate in dict.fromkeys((_full_name(name, namespace), name)):
            if candidate in self.named:
                return self.named[candidate]
        raise SchemaError(f"unknown type name {name!r} (named types must be defined before they are referenced)")

    def _union(self, schema: list[Any], namespace: str) -> Union:
        branches = tuple(self.node(branch, namespace) for branch in schema)
        if any(isinstance(branch, Union) for branch in branches):
            raise SchemaError(f"a union may not directly contain another union: {_shown(schema)}")
        return Union(branches)

    def _object(self, schema: dict[str, Any], namespace: str) -> Node:
        kind = schema.get("type")
        if isinstance(kind, dict | list):
            return self.node(kind, namespace)
        if not isinstance(kind, str):
            raise SchemaError(f"schema object without a valid 'type': {_shown(schema)}")
        if kind in PRIMITIVES:
            logical = schema.get("logicalType")
            decimal = _decimal(schema) if kind == "bytes" else None
            return Primitive(kind, logical if isinstance(logical, str) else None, decimal)
        if kind in ("record", "error"):
            return self._record(schema, namespace)
        if kind == "enum":
            return self._enum(schema, namespace)
        if kind == "fixed":
            return self._fixed(schema, namespace)
        if kind == "array":
            return Array(self.node(_required(schema, "items"), namespace))
        if kind == "map":
            return Map(self.node(_required(schema, "values"), namespace))
        return self._reference(kind, namespace)

    def _name(self, schema: dict[str, Any], namespace: str) -> tuple[str, str, tuple[str, ...]]:
        """The full name, the namespace its children inherit, and the full names of its aliases."""
        name = schema.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"named type without a valid 'name': {_shown(schema)}")
        if "." in name:
            inner = name.rpartition(".")[0]
        else:
            inner = schema.get("namespace", namespace) or ""
            if not isinstance(inner, str):
                raise SchemaError(f"'namespace' of {name!r} is not a string")
        full = _full_name(name, inner)
        if full in self.named:
            raise SchemaError(f"the name {full!r} is defined twice")
        return full, inner, tuple(_full_name(alias, inner) for alias in _strings(schema, "aliases", full))

    def _record(self, schema: dict[str, Any], namespace: str) -> Record:
        full, inner, aliases = self._name(schema, namespace)
        record = self.named[full] = Record(full, aliases)
        fields = _required(schema, "fields")
        if not isinstance(fields, list):
            raise SchemaError(f"'fields' of record {full!r} is not a list")
        for spec in fields:
            name = spec.get("name") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name:
                raise SchemaError(f"record {full!r} has a field without a valid 'name': {_shown(spec)}")
            if any(existing.name == name for existing in record.fields):
                raise SchemaError(f"record {full!r} has two fields named {name!r}")
            field_type = self.node(_required(spec, "type"), inner)
            record.fields.append(Field(name, _strings(spec, "aliases", name), field_type, "default" in spec))
        return record

    def _enum(self, schema: dict[str, Any], namespace: str) -> Enum:
        full, _, aliases = self._name(schema, namespace)
        symbols = _strings(schema, "symbols", full, required=True)
        default = schema.get("default")
        if default is not None and default not in symbols:
            raise SchemaError(f"default {default!r} of enum {full!r} is not one of its symbols")
        enum = self.named[full] = Enum(full, aliases, symbols, default)
        return enum

    def _fixed(self, schema: dict[str, Any], namespace: str) -> Fixed:
        full, _, aliases = self._name(schema, namespace)
        size = schema.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SchemaError(f"fixed {full!r} needs a non-negative integer 'size'")
        fixed = self.named[full] = Fixed(full, aliases, size, _decimal(schema, size))
        return fixed


def _required(schema: dict[str, Any], key: str) -> Any:
    if key not in schema:
        raise SchemaError(f"schema object without {key!r}: {_shown(schema)}")
    return schema[key]


def _strings(schema: dict[str, Any], key: str, owner: str, *, required: bool = False) -> tuple[str, ...]:
    values = _required(schema, key) if required else schema.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise SchemaError(f"{key!r} of {owner!r} is not a list of strings")
    return tuple(values)
