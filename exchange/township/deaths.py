"""Deaths as two departments record them: the registry's death cancellations (hjxx_swzx) and civil
affairs' funeral records (殡葬服务记录).

Every registered death gets a hjxx_swzx row; about 90% also get a funeral row with the same death date
(cremation 1-5 days later). Recent deaths the registry has not heard of yet (see :mod:`lives`) get a
funeral row only: the case a death-notice process exists for.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

from exchange.township import names
from exchange.township.dates import OfficeClock, stamp
from exchange.township.dirt import (
    Rejectable,
    Row,
    bad_check_digit,
    impossible_date,
    invalid_date,
    missing,
    unknown_code,
)
from exchange.township.layouts import FUNERALS, HJXX_SWZX
from exchange.township.lives import Life
from exchange.township.sinks import Sink

ILLNESS, ACCIDENT, OTHER_CAUSE, UNKNOWN_CAUSE = "1", "2", "8", "9"  # 死亡原因类别
_CAUSES = (ILLNESS, ACCIDENT, OTHER_CAUSE, UNKNOWN_CAUSE)
_CAUSE_WEIGHTS_OLD = (90, 3, 2, 5)
_CAUSE_WEIGHTS_YOUNG = (60, 30, 5, 5)
_PLACES = ("家中", "富民县人民医院", f"{names.TOWNSHIP}社区卫生服务中心", "昆明市第一人民医院", "途中", "其他")
_PLACE_WEIGHTS = (55, 22, 8, 7, 4, 4)
_FUNERAL_HOMES = ("富民县殡仪馆", "昆明市殡仪馆")
_BAD_CAUSES = ("3", "5", "7")

_SWZX_ID, _SWZX_DATE = HJXX_SWZX.index("gmsfhm"), HJXX_SWZX.index("swrq")
_F_ID, _F_DIED, _F_CREMATED = FUNERALS.index("身份证号"), FUNERALS.index("死亡日期"), FUNERALS.index("火化日期")
_F_HOME, _F_UPDATED = FUNERALS.index("殡仪馆"), FUNERALS.index("更新时间")


def registry_dirt() -> tuple[Rejectable, ...]:
    """How hjxx_swzx rows get spoiled."""
    return (bad_check_digit(_SWZX_ID), missing("missing_death_date", _SWZX_DATE),
            unknown_code("unknown_death_cause", HJXX_SWZX.index("swyydm"), _BAD_CAUSES),
            invalid_date("invalid_death_date", _SWZX_DATE, "YYYYMMDD"))


def funerals_dirt() -> tuple[Rejectable, ...]:
    """How funeral rows get spoiled; a cremation before the death is an invalid date by the contract."""
    def cremated_before_death(rng: random.Random, row: Row) -> bool:
        row[_F_CREMATED] = row[_F_DIED] - timedelta(days=rng.randint(1, 5))
        return True

    def unparsable_death_date(rng: random.Random, row: Row) -> bool:
        row[_F_DIED] = impossible_date(rng, "YYYY-MM-DD")  # text in a date column, as a clerk typed it
        return True

    return (bad_check_digit(_F_ID), missing("missing_id", _F_ID),
            Rejectable("cremation_before_death", "invalid_date", cremated_before_death),
            Rejectable("invalid_death_date", "invalid_date", unparsable_death_date))


class Deaths:
    """Writes the registry's and civil affairs' records of the deaths in a household."""

    def __init__(self, rng: random.Random, clock: OfficeClock, registry: Sink, funerals: Sink,
                 truths: Counter[str]) -> None:
        self.rng = rng
        self.clock = clock
        self.registry = registry
        self.funerals = funerals
        self.truths = truths
        self._next_certificate = 1
        self._next_cremation = 1

    def record(self, lives: list[Life]) -> set[str]:
        """Queue the death rows of a household's members; return the ID numbers of those whose death
        only civil affairs knows, from a valid funeral row (the register still says active)."""
        known_only_to_civil_affairs = set()
        for life in lives:
            died = life.died
            if died is None:
                continue
            if life.death_registered:
                self._register(life, died)
                self.truths["deaths_registered"] += 1
                if self.rng.random() < 0.9 and died < self.clock.last_day:
                    self._funeral(life, died)
                    self.truths["deaths_with_funeral"] += 1
            else:
                valid = self._funeral(life, died)
                self.truths["deaths_only_civil_affairs"] += 1
                if valid:
                    known_only_to_civil_affairs.add(life.resident.gmsfhm)
                    if life.register_clean:
                        self.truths["expected_death_notices"] += 1
        return known_only_to_civil_affairs

    def _register(self, life: Life, died: date) -> None:
        rng = self.rng
        weights = _CAUSE_WEIGHTS_OLD if life.age >= 60 else _CAUSE_WEIGHTS_YOUNG
        cancelled = max(life.registered.date(), died)
        # The status change and the cancellation are one transaction, unless the row predates the death.
        updated = life.registered if life.registered.date() >= died else self._soon_after(died, 5)
        certificate = f"N{names.COUNTY_CODE}{died.year}{self._next_certificate:05d}"
        self._next_certificate += 1
        self.registry.add([
            None, life.resident.gmsfhm, life.resident.name, f"{died:%Y%m%d}",
            rng.choices(_PLACES, _PLACE_WEIGHTS)[0], rng.choices(_CAUSES, weights)[0], certificate,
            f"{cancelled:%Y%m%d}" if rng.random() < 0.97 else None, stamp(updated),
        ], protected=life.protected)

    def _funeral(self, life: Life, died: date) -> bool:
        """Queue the funeral row; return whether a correct adapter accepts it."""
        rng = self.rng
        cremated = died + timedelta(days=rng.randint(1, min(5, (self.clock.last_day - died).days)))
        updated = self._soon_after(cremated, 3)
        home = _FUNERAL_HOMES[0] if rng.random() < 0.85 else _FUNERAL_HOMES[1]
        number = f"HH{cremated.year}{self._next_cremation:06d}"
        self._next_cremation += 1

        def stale(rng: random.Random, row: Row) -> Row:
            # An earlier entry (the booking), with the other funeral home, corrected since.
            older = row.copy()
            older[_F_HOME] = _FUNERAL_HOMES[1] if row[_F_HOME] == _FUNERAL_HOMES[0] else _FUNERAL_HOMES[0]
            older[_F_UPDATED] = stamp(updated - timedelta(seconds=rng.randint(3600, 5 * 86400)))
            return older

        return self.funerals.add_valid(
            [number, life.resident.gmsfhm, life.resident.name, died, cremated, home, stamp(updated)],
            protected=life.protected, stale=stale)

    def _soon_after(self, day: date, days: int) -> datetime:
        return self.clock.between(self.rng, day, day + timedelta(days=days))
