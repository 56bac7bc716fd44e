"""Avro schema compatibility: the Avro 1.11 schema-resolution rules and the Confluent compatibility modes.

``can_read(reader, writer)`` lists every reason why ``reader`` cannot decode data written with
``writer``; ``check(new, existing, mode)`` applies one of the seven registry modes (``Mode``) to a new
schema and the existing versions of a subject, oldest first. Schemas are JSON values as parsed from
``.avsc`` files; named types may be defined once and referenced by (full or namespace-relative) name.

Paths
    A path is a JSON-Pointer-like location in the *reader* schema: ``/`` is the top-level type;
    ``/fields/<name>`` is a reader field (its reader name, even when it matched a writer field by alias)
    and stands for that field's type; ``/items`` and ``/values`` are an array's items and a map's values;
    a numeric segment ``/<i>`` is branch *i* of the writer's union at that place (the branch whose data
    could not be read). ``/fields/meta/fields/event_time`` is field ``event_time`` of the record in field
    ``meta``; ``/fields/home/1/fields/zip`` is field ``zip`` of the record the writer writes as branch 1 of
    the union in field ``home``.

Kinds (``Kind``, a ``StrEnum`` whose values are the ``kind`` strings)
    type_mismatch                 the types differ and no promotion applies (int->long/float/double,
                                  long->float/double, float->double, string<->bytes)
    name_mismatch                 two records, enums or fixeds whose names differ and no reader alias helps
    fixed_size_mismatch           two fixeds of different sizes
    missing_enum_symbols          writer symbols the reader enum lacks, and the reader enum has no default
    reader_field_missing_default  a reader field with no default that the writer record does not have
    missing_union_branch          a reader union with no branch that matches the writer's type
    decimal_mismatch              two decimals with different precision or scale

Choices where the specification is open or implementations differ
    * Names are compared unqualified, as Avro 1.11 says ("the same (unqualified) name"); reader aliases are
      compared the same way (Java compares an alias's full name with the writer's full name, fastavro and this
      module compare unqualified names).
    * Logical types: as in Java's ``SchemaCompatibility`` (which the Confluent registry uses) only the
      underlying types are resolved, so ``timestamp-millis`` vs ``timestamp-micros`` or ``date`` vs ``int``
      pass. The one exception is the specification's own rule for ``decimal``: two decimals match only if
      precision and scale match. Java does not enforce it (AVRO-2078), so this module is stricter there;
      drop ``decimal_mismatch`` results to get Java's verdict. A decimal against a plain ``bytes``/``fixed``
      resolves by the underlying type. Invalid decimal parameters make the logical type ignored (spec).
    * A reader union picks the first branch that matches the writer, as the specification says; its
      remaining problems are reported at that place (Java instead accepts if any branch fully resolves
      and reports only missing_union_branch). Only named branches matched through aliases can tell the two
      apart; the decimal parameters do not take part in picking the branch.
    * A writer union against a non-union reader is resolved branch by branch, each at ``/<i>``.
    * Recursive types: a record pair met again *inside itself* is assumed compatible there (its problems are
      being collected one level up), so a recursive type's problems are reported once, at the outermost place,
      and checking terminates. A named type merely used at several places is reported at each of them.
    * A field's default is only checked for presence (``"default": null`` counts), as in Java.
    * Invalid schemas (unknown names, malformed objects, an enum default that is not a symbol, nesting too
      deep to walk) raise ``exchange.errors.SchemaError``.
    * At most 1000 incompatibilities are listed per call (only schemas that reuse a type at exponentially
      many places can reach it).

``check`` prefixes each message with the comparison it comes from, e.g. "New schema reading data written
with existing schema 2 of 3: ...", existing schemas being counted oldest first.
"""

from exchange.compatibility._incompatibility import Incompatibility, Kind
from exchange.compatibility._modes import Mode, check
from exchange.compatibility._resolution import can_read

__all__ = ["Incompatibility", "Kind", "Mode", "can_read", "check"]
