"""Hypothesis strategies shared by the tests: random Avro schemas, mutated reader schemas, and their data.

``schema_pairs()`` draws a random record schema and a second schema derived from it by random mutations
(fields added or removed with or without defaults, types promoted, demoted or replaced, enum symbols and
defaults changed, types wrapped in or unwrapped from unions, fixed sizes and decimal parameters changed,
names changed with or without aliases, the namespace moved), then randomly decides which of the two is
the reader. Every schema drawn is valid for fastavro and for ``exchange.compatibility``.

``values(schema)`` draws data for a schema; ``covering_values(schema)`` is a small deterministic set of
data that takes every union branch, writes every enum symbol and fills every array and map, so that each
place a reader could fail at is exercised by at least one datum. Union values use fastavro's tuple
notation ``(branch name, value)`` so the branch written is the one intended.

Two deliberate limits, both about data rather than schemas: ``bytes`` values are UTF-8 text, because the
specification's bytes-to-string promotion only makes sense for such bytes; and timestamps stay within
years 1970-2100, because fastavro turns them into ``datetime`` objects when reading.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastavro import parse_schema
from hypothesis import strategies as st

from exchange.compatibility import can_read

Schema = Any  # a schema JSON value: dict, list or str
Draw = Callable[[st.SearchStrategy[Any]], Any]

PRIMITIVE_NAMES = ("null", "boolean", "int", "long", "float", "double", "string", "bytes")
NUMERIC_LADDER = ("int", "long", "float", "double")
MAX_TIMESTAMP_MILLIS = 4_102_444_800_000  # 2100-01-01
MAX_DEPTH = 3


# ---------------------------------------------------------------------------------------------- schemas


@dataclass
class _Names:
    """Hands out fresh type, field and symbol names, and remembers the enums and fixeds defined so far."""

    counter: Iterator[int] = field(default_factory=itertools.count)
    defined: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def define(self, definition: dict[str, Any]) -> dict[str, Any]:
        self.defined[definition["name"]] = copy.deepcopy(definition)
        return definition

    def define_all(self, definitions: Iterable[dict[str, Any]]) -> None:
        """Remember the latest version of these enums and fixeds (records are never referred to by name)."""
        for definition in definitions:
            if definition["type"] != "record":
                self.define(definition)


def _decimal(draw: Draw) -> dict[str, Any]:
    precision = draw(st.integers(1, 12))
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": draw(st.integers(0, precision))}


def _enum(draw: Draw, names: _Names) -> dict[str, Any]:
    symbols = [names.fresh("S") for _ in range(draw(st.integers(1, 4)))]
    enum: dict[str, Any] = {"type": "enum", "name": names.fresh("E"), "symbols": symbols}
    if draw(st.booleans()):
        enum["default"] = draw(st.sampled_from(symbols))
    return enum


def _record(draw: Draw, names: _Names, depth: int) -> dict[str, Any]:
    fields = []
    for _ in range(draw(st.integers(1 if depth == 0 else 0, 4))):
        field_type = _type(draw, names, depth + 1)
        spec: dict[str, Any] = {"name": names.fresh("f"), "type": field_type}
        if draw(st.integers(0, 3)) == 0:
            spec["default"] = None  # replaced by a valid default in _fix_defaults
        fields.append(spec)
    return {"type": "record", "name": names.fresh("R"), "fields": fields}


def _type(draw: Draw, names: _Names, depth: int) -> Schema:
    """A random type; it may refer by name to an enum or fixed defined earlier."""
    kinds = ["primitive", "primitive", "decimal", "timestamp", "enum", "fixed"]
    if names.defined:
        kinds.append("reference")
    if depth < MAX_DEPTH:
        kinds += ["array", "map", "union", "union", "record", "record"]
    kind = draw(st.sampled_from(kinds))
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVE_NAMES[1:]))
    if kind == "decimal":
        return _decimal(draw)
    if kind == "timestamp":
        return {"type": "long", "logicalType": "timestamp-millis"}
    if kind == "reference":
        return draw(st.sampled_from(sorted(names.defined)))
    if kind == "enum":
        return names.define(_enum(draw, names))
    if kind == "fixed":
        return names.define({"type": "fixed", "name": names.fresh("X"), "size": draw(st.integers(1, 4))})
    if kind == "array":
        return {"type": "array", "items": _type(draw, names, depth + 1)}
    if kind == "map":
        return {"type": "map", "values": _type(draw, names, depth + 1)}
    if kind == "union":
        branches: list[Schema] = ["null"] if draw(st.booleans()) else []
        for _ in range(draw(st.integers(1, 3))):
            candidate = _type(draw, names, depth + 1)
            if not isinstance(candidate, list) and _branch_key(candidate) not in map(_branch_key, branches):
                branches.append(candidate)
        branches = branches or ["null"]
        return draw(st.permutations(branches)) if draw(st.booleans()) else branches
    return _record(draw, names, depth)


def _branch_key(schema: Schema) -> str:
    """What must be unique among a union's branches: the type, or the name of a named type."""
    if isinstance(schema, str):
        return schema if schema in PRIMITIVE_NAMES else f"named:{schema}"
    if schema["type"] in ("record", "enum", "fixed"):
        return f"named:{schema['name']}"
    return str(schema["type"])


@st.composite
def schemas(draw: Draw) -> dict[str, Any]:
    """A random, valid record schema in namespace ``gen``; enums and fixeds may be referenced by name."""
    names = _Names()
    schema = _record(draw, names, 0)
    schema["namespace"] = "gen"
    _fix_definitions(schema, names.defined)  # a definition may have been drawn and then left out of a union
    _fix_defaults(schema)
    return schema


# ------------------------------------------------------------------------------------------ walking


def _slots(container: Any, key: Any, in_union: bool = False) -> Iterator[tuple[Any, Any, bool]]:
    """Every place holding a type, in document order, as (container, key, directly inside a union)."""
    yield container, key, in_union
    node = container[key]
    if isinstance(node, list):
        for index in range(len(node)):
            yield from _slots(node, index, True)
    elif isinstance(node, dict):
        if node["type"] == "record":
            for spec in node["fields"]:
                yield from _slots(spec, "type")
        elif node["type"] == "array":
            yield from _slots(node, "items")
        elif node["type"] == "map":
            yield from _slots(node, "values")


def _definitions(schema: Schema) -> dict[str, dict[str, Any]]:
    """The named types a schema defines, by (unqualified, since names are unique) name."""
    found = {}
    for container, key, _ in _slots({"root": schema}, "root"):
        node = container[key]
        if isinstance(node, dict) and node["type"] in ("record", "enum", "fixed"):
            found[node["name"]] = node
    return found


def _resolve(schema: Schema, named: dict[str, dict[str, Any]]) -> Schema:
    return named[schema] if isinstance(schema, str) and schema not in PRIMITIVE_NAMES else schema


def _default_for(schema: Schema, named: dict[str, dict[str, Any]]) -> Any:
    """A valid default value (in the JSON encoding defaults use) for a type."""
    schema = _resolve(schema, named)
    if isinstance(schema, list):
        return _default_for(schema[0], named)
    kind = schema if isinstance(schema, str) else schema["type"]
    simple = {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": ""}
    if kind in simple:
        return simple[kind]
    if kind == "bytes":
        return ""
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return "\u0000" * schema["size"]
    if kind == "array":
        return []
    if kind == "map":
        return {}
    return {spec["name"]: _default_for(spec["type"], named) for spec in schema["fields"]}


def _fix_defaults(schema: dict[str, Any]) -> None:
    """Give every field that has a default a default valid for its (possibly mutated) type."""
    named = _definitions(schema)
    for container, key, _ in _slots({"root": schema}, "root"):
        node = container[key]
        if isinstance(node, dict) and node["type"] == "record":
            for spec in node["fields"]:
                if "default" in spec:
                    spec["default"] = _default_for(spec["type"], named)
        if isinstance(node, dict) and node["type"] == "enum" and node.get("default") not in (None, *node["symbols"]):
            node["default"] = node["symbols"][0]


def _fix_definitions(schema: dict[str, Any], catalog: dict[str, dict[str, Any]]) -> None:
    """Make every named type defined exactly once, before its first reference, after mutations moved things."""
    seen: set[str] = set()
    for container, key, _ in _slots({"root": schema}, "root"):
        node = container[key]
        if isinstance(node, str) and node not in PRIMITIVE_NAMES and node not in seen:
            container[key] = node = copy.deepcopy(catalog[node])  # its definition was removed or comes later
        if isinstance(node, dict) and node["type"] in ("record", "enum", "fixed"):
            if node["name"] in seen:
                container[key] = node["name"]
            seen.add(node["name"])


def _well_formed(schema: dict[str, Any]) -> bool:
    """Whether unions and enums are well formed, which fastavro does not check itself."""
    for container, key, _ in _slots({"root": schema}, "root"):
        node = container[key]
        if isinstance(node, list):
            if not node or any(isinstance(branch, list) for branch in node):
                return False
            keys = [_branch_key(branch) for branch in node]
            if len(set(keys)) != len(keys):
                return False
        if isinstance(node, dict) and node["type"] == "enum" and not node["symbols"]:
            return False
    return True


def _parses(schema: dict[str, Any]) -> bool:
    try:
        parse_schema(copy.deepcopy(schema))
        can_read(schema, schema)
    except Exception:  # any complaint from either parser means the mutation produced no valid schema
        return False
    return True


# ---------------------------------------------------------------------------------------- mutations


def _rename_references(schema: dict[str, Any], old: str, new: str) -> None:
    for container, key, _ in _slots({"root": schema}, "root"):
        if container[key] == old:
            container[key] = new


def _mutations_for(node: Schema, at_root: bool, in_union: bool) -> list[str]:
    options = [] if at_root else ["replace"]
    if not at_root and not in_union and not isinstance(node, list) and node != "null":
        options.append("wrap_in_union")
    if isinstance(node, list):
        return [*options, "unwrap_union", "drop_branch", "add_branch"]
    kind = node if isinstance(node, str) else node["type"]
    if kind in NUMERIC_LADDER or kind in ("string", "bytes"):
        options += ["promote", "demote"]
    if isinstance(node, dict) and node.get("logicalType") == "decimal":
        options += ["change_decimal"]
    if kind == "record":
        options += ["add_field_with_default", "add_field_without_default", "remove_field", "rename_field_with_alias",
                    "rename_field", "rename_type_with_alias", "rename_type"]
        if at_root:
            options.append("move_namespace")
    if kind == "enum":
        options += ["add_symbol", "remove_symbol", "toggle_enum_default", "rename_type_with_alias", "rename_type"]
    if kind == "fixed":
        options += ["resize", "rename_type_with_alias", "rename_type"]
    if kind in ("array", "map"):
        options.append("swap_array_map")
    return options


def _apply(draw: Draw, names: _Names, name: str, node: Schema, schema: dict[str, Any]) -> Schema:
    """The mutated node (``node`` is a private copy); may also rename references elsewhere in ``schema``."""
    if name == "replace":
        return _type(draw, names, MAX_DEPTH - 1)
    if name == "wrap_in_union":
        return draw(st.sampled_from([["null", node], [node, "null"]]))
    if name == "unwrap_union":
        return draw(st.sampled_from(node))
    if name == "drop_branch":
        del node[draw(st.integers(0, len(node) - 1))]
        return node
    if name == "add_branch":
        node.insert(draw(st.integers(0, len(node))), _type(draw, names, MAX_DEPTH))
        return node
    if name in ("promote", "demote"):
        kind = node if isinstance(node, str) else node["type"]
        if kind in ("string", "bytes"):
            return "bytes" if kind == "string" else "string"
        rank = NUMERIC_LADDER.index(kind)
        others = NUMERIC_LADDER[rank + 1 :] if name == "promote" else NUMERIC_LADDER[:rank]
        return draw(st.sampled_from(others)) if others else node
    if name == "change_decimal":
        changed = _decimal(draw)
        return changed if draw(st.booleans()) else {**node, "scale": min(node["precision"], node["scale"] + 1)}
    if name in ("add_field_with_default", "add_field_without_default"):
        spec = {"name": names.fresh("f"), "type": _type(draw, names, MAX_DEPTH - 1)}
        if name == "add_field_with_default":
            spec["default"] = None
        node["fields"].insert(draw(st.integers(0, len(node["fields"]))), spec)
        return node
    if name in ("remove_field", "rename_field", "rename_field_with_alias"):
        if not node["fields"]:
            return node
        index = draw(st.integers(0, len(node["fields"]) - 1))
        if name == "remove_field":
            del node["fields"][index]
        else:
            spec = node["fields"][index]
            if name == "rename_field_with_alias":
                spec["aliases"] = [spec["name"]]
            spec["name"] = names.fresh("f")
        return node
    if name in ("rename_type", "rename_type_with_alias"):
        old, node["name"] = node["name"], names.fresh(node["name"][0])
        if name == "rename_type_with_alias":
            node["aliases"] = [old]
        _rename_references(schema, old, node["name"])
        return node
    if name == "move_namespace":
        node["namespace"] = "alt"
        return node
    if name == "add_symbol":
        node["symbols"].insert(draw(st.integers(0, len(node["symbols"]))), names.fresh("S"))
        return node
    if name == "remove_symbol":
        del node["symbols"][draw(st.integers(0, len(node["symbols"]) - 1))]
        return node
    if name == "toggle_enum_default":
        if "default" in node:
            del node["default"]
        else:
            node["default"] = draw(st.sampled_from(node["symbols"]))
        return node
    if name == "resize":
        node["size"] = draw(st.sampled_from([size for size in range(1, 6) if size != node["size"]]))
        return node
    assert name == "swap_array_map", name
    inner = node.pop("items" if node["type"] == "array" else "values")
    return {"type": "map", "values": inner} if node["type"] == "array" else {"type": "array", "items": inner}


@dataclass(frozen=True)
class SchemaPair:
    """A reader and a writer schema, one derived from the other by ``mutations`` (in order)."""

    reader: dict[str, Any]
    writer: dict[str, Any]
    mutations: tuple[str, ...]


@st.composite
def mutated(draw: Draw, original: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``original`` after one to three random mutations, each kept only if the schema stays valid."""
    # Fresh names start above any the original uses; its enums and fixeds may be referred to.
    names = _Names(itertools.count(1000))
    names.define_all(_definitions(original).values())
    schema, applied = copy.deepcopy(original), []
    for _ in range(draw(st.integers(1, 3))):
        candidate = copy.deepcopy(schema)
        holder = {"root": candidate}
        # Pick the kind of mutation first, then a place it applies to, so that rare kinds get their share.
        places: dict[str, list[tuple[Any, Any]]] = {}
        for container, key, in_union in _slots(holder, "root"):
            for option in _mutations_for(container[key], container is holder, in_union):
                places.setdefault(option, []).append((container, key))
        name = draw(st.sampled_from(sorted(places)))
        container, key = draw(st.sampled_from(places[name]))
        container[key] = _apply(draw, names, name, copy.deepcopy(container[key]), holder["root"])
        candidate = holder["root"]
        names.define_all(_definitions(candidate).values())
        _fix_definitions(candidate, names.defined)
        if _well_formed(candidate):
            _fix_defaults(candidate)
            if _parses(candidate):
                schema = candidate
                applied.append(name)
    return schema, tuple(applied)


@st.composite
def schema_pairs(draw: Draw) -> SchemaPair:
    """A random schema and a mutation of it, either of them the reader (so both directions are exercised)."""
    original = draw(schemas())
    changed, applied = draw(mutated(original))
    if draw(st.booleans()):
        return SchemaPair(reader=changed, writer=original, mutations=applied)
    return SchemaPair(reader=original, writer=changed, mutations=applied)


# ------------------------------------------------------------------------------------------------ data


def _branch_name(schema: Schema, namespace: str) -> str:
    """The name fastavro's tuple notation uses for a union branch: the type, or a named type's full name."""
    key = _branch_key(schema)
    return f"{namespace}.{key.removeprefix('named:')}" if key.startswith("named:") else key


def values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Random data for a record schema produced by ``schemas()`` or ``mutated()``."""
    named, namespace = _definitions(schema), schema.get("namespace", "")

    def of(node: Schema) -> st.SearchStrategy[Any]:
        node = _resolve(node, named)
        if isinstance(node, list):
            return st.one_of([of(branch).map(lambda value, b=branch: (_branch_name(b, namespace), value))
                              for branch in node])
        kind = node if isinstance(node, str) else node["type"]
        if isinstance(node, dict) and node.get("logicalType") == "decimal" and kind == "bytes":
            limit = 10 ** node["precision"] - 1
            return st.integers(-limit, limit).map(lambda n, s=node["scale"]: Decimal(n).scaleb(-s))
        if isinstance(node, dict) and node.get("logicalType") == "timestamp-millis":
            return st.integers(0, MAX_TIMESTAMP_MILLIS)
        simple: dict[str, st.SearchStrategy[Any]] = {
            "null": st.none(),
            "boolean": st.booleans(),
            "int": st.integers(-(2**31), 2**31 - 1),
            "long": st.integers(-(2**63), 2**63 - 1),
            "float": st.floats(width=32),
            "double": st.floats(),
            "string": st.text(max_size=4),
            "bytes": st.text(max_size=4).map(str.encode),
        }
        if kind in simple:
            return simple[kind]
        if kind == "enum":
            return st.sampled_from(node["symbols"])
        if kind == "fixed":
            return st.binary(min_size=node["size"], max_size=node["size"])
        if kind == "array":
            return st.lists(of(node["items"]), max_size=3)
        if kind == "map":
            return st.dictionaries(st.text(max_size=3), of(node["values"]), max_size=3)
        return st.fixed_dictionaries({spec["name"]: of(spec["type"]) for spec in node["fields"]})

    return of(schema)


def covering_values(schema: dict[str, Any]) -> list[Any]:
    """A few records that together take every union branch, write every enum symbol and fill every array and map."""
    named, namespace = _definitions(schema), schema.get("namespace", "")

    def of(node: Schema) -> list[Any]:
        node = _resolve(node, named)
        if isinstance(node, list):
            return [(_branch_name(branch, namespace), value) for branch in node for value in of(branch)]
        kind = node if isinstance(node, str) else node["type"]
        if isinstance(node, dict) and node.get("logicalType") == "decimal" and kind == "bytes":
            return [Decimal(1).scaleb(-node["scale"])]
        if isinstance(node, dict) and node.get("logicalType") == "timestamp-millis":
            return [1_700_000_000_000]
        simple = {"null": None, "boolean": True, "int": 7, "long": 2**40, "float": 1.5, "double": 2.5,
                  "string": "é", "bytes": "é".encode()}
        if kind in simple:
            return [simple[kind]]
        if kind == "enum":
            return list(node["symbols"])
        if kind == "fixed":
            return [bytes(node["size"])]
        if kind == "array":
            return [of(node["items"])]
        if kind == "map":
            return [{f"k{index}": value for index, value in enumerate(of(node["values"]))}]
        columns = {spec["name"]: of(spec["type"]) for spec in node["fields"]}
        rows = max((len(column) for column in columns.values()), default=1)
        return [{name: column[row % len(column)] for name, column in columns.items()} for row in range(rows)]

    return of(schema)
