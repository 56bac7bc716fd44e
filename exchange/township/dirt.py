"""Controlled dirty data: each source gets about ``rate`` of its rows spoiled, one known way per row.

Rejectable kinds break the data standard in exactly one way, and a correct adapter must dead-letter the
row with the reason given here (the rules of ``adapters/README.md``). Tolerated kinds are valid rows a
correct pipeline must absorb: an exact duplicate, and a stale copy of a record (older update time, some
other value) that arrives later and must lose to the newer one. Only drop-folder sources get tolerated
kinds: a re-exported spreadsheet repeats rows, while a SQL table holds each row once and a change
rewrites it. Each source draws from its own random stream, and the injector counts what it did; those
counts go into the manifest.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exchange.identity import check_digit

DUPLICATE, LATE_OLDER = "duplicate", "late_older"
TOLERATED = (DUPLICATE, LATE_OLDER)

Row = list[Any]
Spoiler = Callable[[random.Random, Row], bool]  # spoils the row in place; False when it does not apply
StaleCopy = Callable[[random.Random, Row], "Row | None"]  # an older version of a row, or None if none fits

# Impossible calendar dates (month, day) that no date parser accepts, whatever its leniency.
_IMPOSSIBLE_DAYS = ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (13, 1), (0, 10), (7, 32))


@dataclass(frozen=True, slots=True)
class Rejectable:
    """A way to break a row: its kind (as counted), the adapter's reject reason, and the spoiler."""

    kind: str
    reason: str
    spoil: Spoiler


class SourceDirt:
    """Decides, row by row, whether and how to spoil one source's rows; ``counts`` says what it did.

    The first rejectable kind must apply to every row: it stands in when the drawn kind does not apply
    (a malformed amount on a row without an amount). A late-older draw without a stale copy becomes a
    duplicate.
    """

    def __init__(self, rng: random.Random, rate: float, rejectable: tuple[Rejectable, ...],
                 tolerated: tuple[str, ...] = ()) -> None:
        self.rng = rng
        self.rate = rate
        self.rejectable = {item.kind: item for item in rejectable}
        self.kinds = (*self.rejectable, *tolerated)
        self.counts = dict.fromkeys(self.kinds, 0)
        self._fallback = rejectable[0]

    def spoil(self, row: Row, stale: StaleCopy | None = None) -> tuple[str | None, Row | None]:
        """Maybe spoil ``row`` in place; return the kind (None if left clean) and an extra row to write later."""
        rng = self.rng
        if self.rate <= 0 or rng.random() >= self.rate:
            return None, None
        kind = rng.choice(self.kinds)
        extra: Row | None = None
        if kind == DUPLICATE:
            extra = list(row)
        elif kind == LATE_OLDER:
            extra = stale(rng, row) if stale is not None else None
            if extra is None:
                kind, extra = DUPLICATE, list(row)
        elif not self.rejectable[kind].spoil(rng, row):
            kind = self._fallback.kind
            self._fallback.spoil(rng, row)
        self.counts[kind] += 1
        return kind, extra

    def is_rejected(self, kind: str | None) -> bool:
        """Whether a row spoiled this way must be dead-lettered."""
        return kind in self.rejectable

    @property
    def rejects(self) -> int:
        """Rows a correct adapter dead-letters."""
        return sum(self.counts[kind] for kind in self.rejectable)

    def reasons(self) -> dict[str, int]:
        """Rows a correct adapter dead-letters, per reject reason."""
        found: Counter[str] = Counter()
        for kind, item in self.rejectable.items():
            found[item.reason] += self.counts[kind]
        return dict(sorted(found.items()))


# -- spoilers ----------------------------------------------------------------------------------------------

def spoil_check_digit(rng: random.Random, number: str) -> str:
    """The same number with a check character that is wrong (and still a digit or X)."""
    right = number[17]
    return number[:17] + rng.choice([c for c in "0123456789X" if c != right])


def spoil_birth_date(rng: random.Random, number: str) -> str:
    """The number with an impossible birth date (month 13, day 32, 30 February...) and a correct check digit.

    The check digit is recomputed so that the date is the only thing wrong, and the reason a validator
    gives is the interesting one.
    """
    year, month, day = number[6:10], number[10:12], number[12:14]
    bad = rng.choice((f"{year}13{day}", f"{year}00{day}", f"{year}{month}32", f"{year}{month}00",
                      f"{year}0230", f"{year}0431"))
    first17 = number[:6] + bad + number[14:17]
    return first17 + check_digit(first17)


def impossible_date(rng: random.Random, template: str) -> str:
    """A date that is not on the calendar, written like ``template`` ("YYYYMMDD", "YYYY-MM-DD", "YYYY/MM/DD")."""
    month, day = rng.choice(_IMPOSSIBLE_DAYS)
    year = rng.randint(2012, 2025)
    separator = template[4] if len(template) == 10 else ""
    return f"{year}{separator}{month:02d}{separator}{day:02d}"


def bad_check_digit(column: int) -> Rejectable:
    """The ID number in ``column`` gets a wrong check digit."""
    def spoil(rng: random.Random, row: Row) -> bool:
        row[column] = spoil_check_digit(rng, row[column])
        return True
    return Rejectable("bad_check_digit", "invalid_resident_id", spoil)


def missing(kind: str, column: int) -> Rejectable:
    """A required cell left empty."""
    def spoil(_rng: random.Random, row: Row) -> bool:
        row[column] = ""
        return True
    return Rejectable(kind, "missing_field", spoil)


def replaced(kind: str, reason: str, column: int, values: tuple[str, ...], *, only_if_set: bool = False) -> Rejectable:
    """A cell replaced by one of ``values`` (an unknown code, a malformed amount...).

    ``only_if_set``: applies only where the cell has a value (an amount that is empty unless receiving).
    """
    def spoil(rng: random.Random, row: Row) -> bool:
        if only_if_set and row[column] in ("", None):
            return False
        row[column] = rng.choice(values)
        return True
    return Rejectable(kind, reason, spoil)


def unknown_code(kind: str, column: int, values: tuple[str, ...]) -> Rejectable:
    """A code no code table has."""
    return replaced(kind, "unknown_code", column, values)


def invalid_date(kind: str, column: int, template: str) -> Rejectable:
    """A date cell holding a day that is not on the calendar (as text, also in spreadsheets)."""
    def spoil(rng: random.Random, row: Row) -> bool:
        row[column] = impossible_date(rng, template)
        return True
    return Rejectable(kind, "invalid_date", spoil)
