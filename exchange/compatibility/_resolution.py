"""``can_read``: the Avro 1.11 schema-resolution rules, reporting every violation with its path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.compatibility._incompatibility import Incompatibility, Kind
from exchange.compatibility._schema import (
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Node,
    Primitive,
    Record,
    Union,
    describe,
    parse,
    unqualified,
)
from exchange.errors import SchemaError

# A named type reused at many places is reported at each; a schema reusing one at exponentially many places
# (a few dozen records, each using the next twice) would otherwise make the report itself explode.
MAX_REPORTED = 1000

# (writer type, reader type) pairs the specification lets a reader promote.
PROMOTIONS = frozenset(
    {
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    }
)


@dataclass(frozen=True, slots=True)
class _Issue:
    """An incompatibility whose path is relative to the pair of nodes that produced it."""

    segments: tuple[str, ...]
    kind: Kind
    message: str


def can_read(reader: Any, writer: Any) -> list[Incompatibility]:
    """Every reason why ``reader`` cannot decode data written with ``writer``; empty when it always can.

    Both arguments are schema JSON values (dict, list or str); an invalid schema, or one nested too deeply to
    walk, raises ``SchemaError``. At most ``MAX_REPORTED`` incompatibilities are listed.
    """
    try:
        issues = _Resolver().resolve(parse(reader), parse(writer))
    except RecursionError as exc:
        raise SchemaError("the schema is nested too deeply to be checked") from exc
    return [Incompatibility(_pointer(issue.segments), str(issue.kind), issue.message) for issue in issues]


def _pointer(segments: tuple[str, ...]) -> str:
    return "/" + "/".join(segment.replace("~", "~0").replace("/", "~1") for segment in segments)


def _under(prefix: tuple[str, ...], issues: list[_Issue]) -> list[_Issue]:
    return [_Issue(prefix + issue.segments, issue.kind, issue.message) for issue in issues]


def names_match(reader: Named, writer: Named) -> bool:
    """Whether the writer's name is the reader's or one of its aliases, namespaces ignored (Avro 1.11)."""
    wanted = unqualified(writer.name)
    return wanted == unqualified(reader.name) or any(unqualified(alias) == wanted for alias in reader.aliases)


def matches(reader: Node, writer: Node) -> bool:
    """The specification's "match" that picks the reader union branch for a (non-union) writer type.

    Same primitive or a promotion, same kind of named type with a matching name, or both arrays or both maps.
    Sizes, symbols, fields, items and decimal parameters are left to the recursive resolution of the chosen
    branch, which reports them precisely: a union has one branch per unnamed type and per name, so looking
    deeper would only change the choice between named branches that both match through aliases.
    """
    match reader, writer:
        case Primitive(), Primitive():
            return reader.type == writer.type or (writer.type, reader.type) in PROMOTIONS
        case (Record(), Record()) | (Enum(), Enum()) | (Fixed(), Fixed()):
            return names_match(reader, writer)
        case (Array(), Array()) | (Map(), Map()):
            return True
    return False


class _Resolver:
    """Resolves one reader/writer pair; remembers record pairs so recursive types terminate."""

    def __init__(self) -> None:
        self._active: set[tuple[Record, Record]] = set()
        self._finished: dict[tuple[Record, Record], list[_Issue]] = {}

    def resolve(self, reader: Node, writer: Node) -> list[_Issue]:
        if isinstance(writer, Union):
            # Every branch the writer may choose must be readable; segment = the writer's branch index.
            issues: list[_Issue] = []
            for index, branch in enumerate(writer.branches):
                issues += _under((str(index),), self.resolve(reader, branch))
            return issues[:MAX_REPORTED]
        if isinstance(reader, Union):
            return self._into_union(reader, writer)
        match reader, writer:
            case Primitive(), Primitive():
                return _primitives(reader, writer)
            case Record(), Record():
                return self._records(reader, writer)
            case Enum(), Enum():
                return _enums(reader, writer)
            case Fixed(), Fixed():
                return _fixeds(reader, writer)
            case Array(), Array():
                return _under(("items",), self.resolve(reader.items, writer.items))
            case Map(), Map():
                return _under(("values",), self.resolve(reader.values, writer.values))
        return [_type_mismatch(reader, writer)]

    def _into_union(self, reader: Union, writer: Node) -> list[_Issue]:
        """The first reader branch that matches the writer is resolved against it; none matching is an error."""
        for branch in reader.branches:
            if matches(branch, writer):
                return self.resolve(branch, writer)
        message = f"No branch of the reader's {describe(reader)} matches the writer's {describe(writer)}."
        return [_Issue((), Kind.MISSING_UNION_BRANCH, message)]

    def _records(self, reader: Record, writer: Record) -> list[_Issue]:
        """Names, then each reader field: read from the writer field of its name or alias, else from its default."""
        pair = (reader, writer)
        if pair in self._active:
            # A recursive reference back to a pair still being checked: its problems are reported there, once.
            return []
        if pair in self._finished:
            return self._finished[pair]
        self._active.add(pair)
        issues = _name_issues(reader, writer)
        by_name = {field.name: field for field in writer.fields}
        for field in reader.fields:
            source = _writer_field(field, by_name)
            if source is not None:
                issues += _under(("fields", field.name), self.resolve(field.type, source.type))
            elif not field.has_default:
                message = (
                    f"The reader's {describe(reader)} field '{field.name}' ({describe(field.type)}) has no default, "
                    f"and the writer's {describe(writer)} has no field of that name"
                    + (f" or of its aliases {list(field.aliases)}." if field.aliases else ".")
                )
                issues.append(_Issue(("fields", field.name), Kind.READER_FIELD_MISSING_DEFAULT, message))
        self._active.discard(pair)
        self._finished[pair] = issues = issues[:MAX_REPORTED]
        return issues


def _writer_field(field: Field, writer_fields: dict[str, Field]) -> Field | None:
    """The writer field a reader field reads: the one with its name, else the first named by one of its aliases."""
    for name in (field.name, *field.aliases):
        if name in writer_fields:
            return writer_fields[name]
    return None


def _primitives(reader: Primitive, writer: Primitive) -> list[_Issue]:
    if reader.type == writer.type:
        return _decimal_issues(reader, writer)
    if (writer.type, reader.type) in PROMOTIONS:
        return []
    return [_type_mismatch(reader, writer)]


def _enums(reader: Enum, writer: Enum) -> list[_Issue]:
    issues = _name_issues(reader, writer)
    missing = [symbol for symbol in writer.symbols if symbol not in reader.symbols]
    if missing and reader.default is None:
        message = (
            f"The writer's {describe(writer)} has symbols {missing} that the reader's {describe(reader)} lacks, "
            "and the reader enum has no default symbol."
        )
        issues.append(_Issue((), Kind.MISSING_ENUM_SYMBOLS, message))
    return issues


def _fixeds(reader: Fixed, writer: Fixed) -> list[_Issue]:
    issues = _name_issues(reader, writer)
    if reader.size != writer.size:
        message = f"The reader's {describe(reader)} and the writer's {describe(writer)} differ in size."
        issues.append(_Issue((), Kind.FIXED_SIZE_MISMATCH, message))
    return issues + _decimal_issues(reader, writer)


def _name_issues(reader: Named, writer: Named) -> list[_Issue]:
    if names_match(reader, writer):
        return []
    aliases = f" (aliases {list(reader.aliases)})" if reader.aliases else ""
    message = (
        f"The reader's {describe(reader)}{aliases} does not match the writer's {describe(writer)}: "
        "neither its name nor an alias is the writer's name."
    )
    return [_Issue((), Kind.NAME_MISMATCH, message)]


def _decimal_issues(reader: Primitive | Fixed, writer: Primitive | Fixed) -> list[_Issue]:
    # Only when both sides are decimals; otherwise the underlying types decide (spec, "Logical Types").
    if reader.decimal is None or writer.decimal is None or reader.decimal == writer.decimal:
        return []
    message = (
        f"The reader's {describe(reader)} and the writer's {describe(writer)} differ in precision or scale; "
        "the specification matches two decimals only when both agree."
    )
    return [_Issue((), Kind.DECIMAL_MISMATCH, message)]


def _type_mismatch(reader: Node, writer: Node) -> _Issue:
    message = f"The reader's {describe(reader)} cannot read the writer's {describe(writer)}"
    if isinstance(reader, Primitive) and isinstance(writer, Primitive):
        message += ": Avro has no such promotion"
    return _Issue((), Kind.TYPE_MISMATCH, message + ".")
