"""What a compatibility check reports: one ``Incompatibility`` per problem, each with a ``Kind``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Why a reader cannot decode what a writer wrote; each value is the ``kind`` string reported."""

    TYPE_MISMATCH = "type_mismatch"
    NAME_MISMATCH = "name_mismatch"
    FIXED_SIZE_MISMATCH = "fixed_size_mismatch"
    MISSING_ENUM_SYMBOLS = "missing_enum_symbols"
    READER_FIELD_MISSING_DEFAULT = "reader_field_missing_default"
    MISSING_UNION_BRANCH = "missing_union_branch"
    DECIMAL_MISMATCH = "decimal_mismatch"


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason why the reader schema cannot decode some datum of the writer schema.

    ``path`` locates the problem in the reader schema (notation in ``exchange.compatibility``),
    ``kind`` is one of the ``Kind`` values and ``message`` is a sentence naming both types.
    """

    path: str
    kind: str
    message: str
