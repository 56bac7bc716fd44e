"""Controlled dirty data: each source gets about ``rate`` of its rows spoiled, one known way per row.

Rejectable kinds break the data standard and a correct validator must dead-letter the row. Tolerated
kinds (civil affairs only) are valid rows that a correct pipeline must absorb: an exact duplicate, and
a stale copy of a record (older 更新时间, different status) that arrives later in the file and must lose
to the newer one. The injector counts what it did, and those counts go into the manifest.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from exchange.identity import check_digit
from exchange.township.assistance import ENDED, RECEIVING, SUSPENDED, Assistance
from exchange.township.dates import stamp

PUBLIC_SECURITY_KINDS = ("bad_check_digit", "impossible_birth_date", "missing_name", "unknown_sex_code")
CIVIL_AFFAIRS_REJECTED = ("bad_check_digit", "unknown_programme", "malformed_amount")
CIVIL_AFFAIRS_TOLERATED = ("duplicate", "late_older")
CIVIL_AFFAIRS_KINDS = CIVIL_AFFAIRS_REJECTED + CIVIL_AFFAIRS_TOLERATED

# Codes 0 ("unknown") and 9 ("unstated") are legal in GB/T 2261.1, so the bad ones avoid them.
_BAD_SEX_CODES = ("7", "3", "M", "男")
_UNKNOWN_PROGRAMMES = ("临时救助", "医疗救助", "残疾人两项补贴")
_BAD_AMOUNTS = ("六百", "600元", "伍拾", "N/A")

# Row layouts (indices) shared with the generator.
PS_GMSFHM, PS_XM, PS_XBDM = 1, 2, 3
CA_ID, CA_PROGRAMME, CA_STATUS, CA_END, CA_AMOUNT, CA_UPDATED = 1, 3, 4, 6, 7, 8


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


class DirtInjector:
    """Decides, row by row, whether and how to spoil it; ``counts`` says what was done per source."""

    def __init__(self, rng: random.Random, rate: float) -> None:
        self.rng = rng
        self.rate = rate
        self.counts = {
            "public_security": dict.fromkeys(PUBLIC_SECURITY_KINDS, 0),
            "civil_affairs": dict.fromkeys(CIVIL_AFFAIRS_KINDS, 0),
        }

    def _pick(self, kinds: tuple[str, ...]) -> str | None:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(kinds)

    def public_security(self, row: list[object]) -> str | None:
        """Maybe spoil one household-register row in place; return the kind, or None if left clean."""
        kind = self._pick(PUBLIC_SECURITY_KINDS)
        if kind == "bad_check_digit":
            row[PS_GMSFHM] = spoil_check_digit(self.rng, str(row[PS_GMSFHM]))
        elif kind == "impossible_birth_date":
            row[PS_GMSFHM] = spoil_birth_date(self.rng, str(row[PS_GMSFHM]))
        elif kind == "missing_name":
            row[PS_XM] = ""
        elif kind == "unknown_sex_code":
            row[PS_XBDM] = self.rng.choice(_BAD_SEX_CODES)
        if kind is not None:
            self.counts["public_security"][kind] += 1
        return kind

    def civil_affairs(self, row: list[str], record: Assistance) -> tuple[str | None, list[str] | None]:
        """Maybe spoil one assistance row in place.

        Returns the kind (or None) and, for the tolerated kinds, an extra row to write later in the file.
        """
        rng = self.rng
        kind = self._pick(CIVIL_AFFAIRS_KINDS)
        extra: list[str] | None = None
        if kind == "bad_check_digit":
            row[CA_ID] = spoil_check_digit(rng, row[CA_ID])
        elif kind == "unknown_programme":
            row[CA_PROGRAMME] = rng.choice(_UNKNOWN_PROGRAMMES)
        elif kind == "malformed_amount":
            row[CA_AMOUNT] = rng.choice(_BAD_AMOUNTS)
        elif kind == "duplicate":
            extra = list(row)
        elif kind == "late_older":
            extra = self._stale_copy(row, record)
        if kind is not None:
            self.counts["civil_affairs"][kind] += 1
        return kind, extra

    def _stale_copy(self, row: list[str], record: Assistance) -> list[str]:
        """An older version of the record: up to 120 days earlier, not before its start, other status."""
        rng = self.rng
        since_start = record.updated - datetime.combine(record.start, time())
        window = max(1, min(int(since_start.total_seconds()), 120 * 86400))
        older = record.updated - timedelta(seconds=rng.randint(1, window))
        stale = list(row)
        if record.status == RECEIVING:
            stale[CA_STATUS] = rng.choice((SUSPENDED, ENDED))
        else:
            # The interesting case: an old "receiving" row must not resurrect an ended or suspended record.
            stale[CA_STATUS] = RECEIVING
        stale[CA_END] = older.date().isoformat() if stale[CA_STATUS] == ENDED else ""
        stale[CA_UPDATED] = stamp(older)
        return stale
