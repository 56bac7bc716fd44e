"""The seven Confluent Schema Registry compatibility modes, built on ``can_read``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

from exchange.compatibility._incompatibility import Incompatibility
from exchange.compatibility._resolution import can_read


class Mode(StrEnum):
    """A subject's compatibility mode, spelled as in the Confluent Schema Registry REST API."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"


_NEW_READS_OLD = frozenset({Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE, Mode.FULL, Mode.FULL_TRANSITIVE})
_OLD_READS_NEW = frozenset({Mode.FORWARD, Mode.FORWARD_TRANSITIVE, Mode.FULL, Mode.FULL_TRANSITIVE})
_TRANSITIVE = frozenset({Mode.BACKWARD_TRANSITIVE, Mode.FORWARD_TRANSITIVE, Mode.FULL_TRANSITIVE})


def check(new: Any, existing: Sequence[Any], mode: Mode | str) -> list[Incompatibility]:
    """Every incompatibility that stops ``new`` from joining ``existing`` (oldest first) under ``mode``.

    BACKWARD: ``new`` reads the latest existing schema's data; FORWARD: the latest reads ``new``'s data;
    FULL: both; the ``_TRANSITIVE`` variants compare against every existing schema; NONE checks nothing.
    Each message starts by naming the comparison, e.g. "New schema reading data written with existing schema
    2 of 3: ...", existing schemas being counted oldest first.
    A mode string that is not a ``Mode`` value raises ``ValueError``.
    """
    mode = Mode(mode)
    versions = list(existing)
    against = list(enumerate(versions, start=1))
    if mode not in _TRANSITIVE:
        against = against[-1:]
    found: list[Incompatibility] = []
    for position, old in against:
        label = f"schema {position} of {len(versions)}"
        if mode in _NEW_READS_OLD:
            found += _labelled(can_read(new, old), f"New schema reading data written with existing {label}")
        if mode in _OLD_READS_NEW:
            found += _labelled(can_read(old, new), f"Existing {label} reading data written with the new schema")
    return found


def _labelled(issues: list[Incompatibility], context: str) -> list[Incompatibility]:
    return [replace(issue, message=f"{context}: {issue.message}") for issue in issues]
