"""Limits on hostile Avro payloads that fastavro's C reader would follow without bound.

fastavro's C reader can be made to work without bound by a small payload in two ways: it recurses on the C
stack once per nested record (with a recursive schema, ~5,000 nested records in 10 KB overflow an 8 MB stack:
a segfault, which no except clause catches), and it loops once per array item even when items take no bytes
(an array of null with a count of 2**40 fits in 7 bytes). Payloads of schemas that allow either are walked
first and refused past these limits; for every other schema decoding is exactly fastavro's.
"""

from __future__ import annotations

from typing import Any

MAX_RECORD_DEPTH = 64
MAX_EMPTY_ITEMS = 100_000

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_FIXED_WIDTH = {"null": 0, "boolean": 1, "float": 4, "double": 8}
_VARINT = frozenset({"int", "long", "enum"})
_LENGTH_PREFIXED = frozenset({"bytes", "string"})
_RECORD = frozenset({"record", "error"})
_U64 = (1 << 64) - 1


class _Stop(Exception):
    """The walk met bytes fastavro rejects at the same place (they run out, a union branch is missing)."""


class _Excess(Exception):
    """The payload goes past a limit; the message says which."""


class PayloadBounds:
    """What a schema whose payloads need a walk looks like: its named types and which items take no bytes."""

    def __init__(self, root: Any, names: dict[str, Any]) -> None:
        self.root = root  # keeps every node alive, so the id() keys of ``_empty`` stay valid
        self.names = names
        self._empty: dict[int, bool] = {}

    @classmethod
    def needed_for(cls, parsed: Any) -> PayloadBounds | None:
        """Bounds for ``parsed`` if it is recursive or has an array of zero-byte items, else None."""
        names: dict[str, Any] = {}
        try:
            _collect_names(parsed, names)
            bounds = cls(parsed, names)
            return bounds if bounds._unbounded(parsed, frozenset(), set()) else None
        except (KeyError, TypeError, AttributeError, RecursionError):  # a shape fastavro parses but this can't
            return None  # read: decode as before, unguarded

    def excess(self, payload: bytes, start: int) -> str | None:
        """Why decoding ``payload`` from ``start`` would go past a limit, or None when it stays within them."""
        try:
            _Walk(self, payload, start).value(self.root, 0)
        except _Stop:
            return None
        except _Excess as exc:
            return str(exc)
        except RecursionError:  # only a schema nested hundreds of levels deep without recursing gets here
            return "the record is nested too deeply to check"
        return None

    def resolve(self, schema: Any) -> tuple[str, Any]:
        """The Avro type of ``schema`` and its definition, following named references."""
        while True:
            if isinstance(schema, list):
                return "union", schema
            if isinstance(schema, str):
                if schema in _PRIMITIVES:
                    return schema, schema
                schema = self.names[schema]
                continue
            kind = schema["type"]
            if isinstance(kind, str) and (kind in _PRIMITIVES or kind in ("array", "map") or "name" in schema):
                return kind, schema
            schema = kind  # {"type": <a named reference or another schema>}

    def takes_no_bytes(self, schema: Any, path: frozenset[str] = frozenset()) -> bool:
        """Whether every value of ``schema`` encodes to zero bytes (null, fixed(0), records of only those)."""
        known = self._empty.get(id(schema))
        if known is not None:
            return known
        kind, node = self.resolve(schema)
        if kind in _RECORD:
            name = node["name"]
            empty = name not in path and all(self.takes_no_bytes(f["type"], path | {name}) for f in node["fields"])
        else:
            empty = kind == "null" or (kind == "fixed" and node["size"] == 0)
        if not path:
            self._empty[id(schema)] = empty
        return empty

    def _unbounded(self, schema: Any, path: frozenset[str], settled: set[str]) -> bool:
        """Whether ``schema`` reaches a record inside itself or an array of zero-byte items."""
        kind, node = self.resolve(schema)
        if kind == "union":
            return any(self._unbounded(branch, path, settled) for branch in node)
        if kind == "array":
            return self.takes_no_bytes(node["items"]) or self._unbounded(node["items"], path, settled)
        if kind == "map":
            return self._unbounded(node["values"], path, settled)
        if kind not in _RECORD:
            return False
        name = node["name"]
        if name in path:
            return True
        if name in settled:
            return False
        inner = path | {name}
        if any(self._unbounded(f["type"], inner, settled) for f in node["fields"]):
            return True
        settled.add(name)  # no cycle passes through it: later references need no second look
        return False


class _Walk:
    """One payload walked the way fastavro reads it, counting nested records and zero-byte array items.

    Positions must agree with fastavro's, so its quirks are followed: varints wrap at 64 bits, a negative
    union index counts from the end, a block's byte size is read and ignored. Where fastavro will fail anyway
    the walk stops (``_Stop``) and fastavro reports its own error; only a broken limit, or a varint longer
    than 10 bytes (where fastavro's position is undefined), is reported by the walk.
    """

    def __init__(self, bounds: PayloadBounds, data: bytes, pos: int) -> None:
        self.bounds, self.data, self.pos = bounds, data, pos
        self.empty_items = 0

    def long(self) -> int:
        data, pos, shift, n = self.data, self.pos, 0, 0
        while True:
            if pos >= len(data):
                raise _Stop
            byte = data[pos]
            pos += 1
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift >= 70:
                raise _Excess("a varint longer than 10 bytes")
        self.pos = pos
        n &= _U64
        return (n >> 1) ^ -(n & 1)

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise _Stop
        self.pos += size

    def value(self, schema: Any, depth: int) -> None:
        kind, node = self.bounds.resolve(schema)
        if kind in _VARINT:
            self.long()
        elif kind in _LENGTH_PREFIXED:
            self.skip(self.long())
        elif kind in _FIXED_WIDTH:
            self.skip(_FIXED_WIDTH[kind])
        elif kind == "fixed":
            self.skip(node["size"])
        elif kind == "union":
            index = self.long()
            if not -len(node) <= index < len(node):
                raise _Stop
            self.value(node[index], depth)
        elif kind in _RECORD:
            if depth >= MAX_RECORD_DEPTH:
                raise _Excess(f"records nested more than {MAX_RECORD_DEPTH} deep")
            for field_ in node["fields"]:
                self.value(field_["type"], depth + 1)
        elif kind == "array":
            self.blocks(node["items"], depth, keyed=False)
        elif kind == "map":
            self.blocks(node["values"], depth, keyed=True)

    def blocks(self, item: Any, depth: int, *, keyed: bool) -> None:
        empty = not keyed and self.bounds.takes_no_bytes(item)
        while count := self.long():
            if count < 0:
                count = -count if count != -(1 << 63) else 0  # fastavro negates in 64 bits: -(-2**63) stays < 0
                self.long()  # the block's size in bytes
            if empty:
                self.empty_items += count
                if self.empty_items > MAX_EMPTY_ITEMS:
                    raise _Excess(f"more than {MAX_EMPTY_ITEMS} array items that take no bytes")
                continue
            for _ in range(count):  # each item takes at least one byte, so the payload's end stops this
                if keyed:
                    self.skip(self.long())
                self.value(item, depth)


def _collect_names(schema: Any, names: dict[str, Any]) -> None:
    """Every named type defined in ``schema`` (as fastavro parsed it), by full name."""
    if isinstance(schema, list):
        for branch in schema:
            _collect_names(branch, names)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if "name" in schema and isinstance(kind, str) and kind not in ("array", "map"):
            if schema["name"] in names:
                return
            names[schema["name"]] = schema
        if isinstance(kind, dict | list):
            _collect_names(kind, names)
        for field_ in schema.get("fields", ()):
            _collect_names(field_["type"], names)
        for key in ("items", "values"):
            if key in schema:
                _collect_names(schema[key], names)
