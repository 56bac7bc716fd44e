"""The household register of public security: residents (hjxx_czrk), households (hjxx_hxx) and
household memberships (hjxx_hcybd). Registered deaths (hjxx_swzx) are in :mod:`deaths`."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from exchange.township import names
from exchange.township.dates import OfficeClock, stamp
from exchange.township.dirt import (
    Rejectable,
    Row,
    bad_check_digit,
    invalid_date,
    missing,
    spoil_birth_date,
    unknown_code,
)
from exchange.township.layouts import HJXX_CZRK, HJXX_HCYBD, HJXX_HXX
from exchange.township.lives import Life
from exchange.township.people import Household
from exchange.township.sinks import Sink

FAMILY, COLLECTIVE = "1", "2"  # 户类别: 家庭户, 集体户

# Codes 0 ("unknown") and 9 ("unstated") are legal in GB/T 2261.1, so the bad ones avoid them.
_BAD_SEX_CODES = ("7", "3", "M", "男")
_BAD_HOUSEHOLD_TYPES = ("0", "5", "11")
_BAD_RELATIONSHIPS = ("A1", "123", "2X")  # GB/T 4761 codes are two digits


def residents_dirt() -> tuple[Rejectable, ...]:
    """How hjxx_czrk rows get spoiled (the kinds are those of the first generator version)."""
    number = HJXX_CZRK.index("gmsfhm")

    def impossible_birth(rng: random.Random, row: Row) -> bool:
        row[number] = spoil_birth_date(rng, row[number])
        return True

    return (bad_check_digit(number), Rejectable("impossible_birth_date", "invalid_resident_id", impossible_birth),
            missing("missing_name", HJXX_CZRK.index("xm")),
            unknown_code("unknown_sex_code", HJXX_CZRK.index("xbdm"), _BAD_SEX_CODES))


def households_dirt() -> tuple[Rejectable, ...]:
    """How hjxx_hxx rows get spoiled."""
    return (bad_check_digit(HJXX_HXX.index("hzgmsfhm")), missing("missing_household_number", HJXX_HXX.index("hh")),
            unknown_code("unknown_household_type", HJXX_HXX.index("hlbdm"), _BAD_HOUSEHOLD_TYPES))


def members_dirt() -> tuple[Rejectable, ...]:
    """How hjxx_hcybd rows get spoiled."""
    return (bad_check_digit(HJXX_HCYBD.index("gmsfhm")),
            missing("missing_household_number", HJXX_HCYBD.index("hh")),
            unknown_code("unknown_relationship", HJXX_HCYBD.index("yhzgxdm"), _BAD_RELATIONSHIPS),
            invalid_date("invalid_move_in_date", HJXX_HCYBD.index("qrrq"), "YYYYMMDD"))


class Register:
    """Writes a household's register rows; its update times come from the stream the first version used."""

    def __init__(self, clock_rng: random.Random, rng: random.Random, clock: OfficeClock,
                 residents: Sink, households: Sink, members: Sink, truths: Counter[str]) -> None:
        self.truths = truths
        self.clock_rng = clock_rng
        self.rng = rng
        self.clock = clock
        self.residents_sink = residents
        self.households_sink = households
        self.members_sink = members

    def residents(self, household: Household) -> tuple[list[datetime], set[str]]:
        """Queue the household's hjxx_czrk rows; return their update times and the IDs whose rows stayed clean."""
        rng = self.clock_rng
        # A household is registered or updated in one sitting, so its rows share a timestamp (the spouse
        # always: married and registered together), which gives readers ties on gxsj to break by id.
        household_time = self.clock.any_time(rng)
        times = []
        clean = set()
        for index, person in enumerate(household.members):
            when = household_time if index <= 1 or rng.random() < 0.7 else self.clock.any_time(rng)
            times.append(when)
            row: Row = [
                None, person.gmsfhm, person.name, person.sex, person.ethnicity, f"{person.birth:%Y%m%d}",
                household.number, person.relation, household.address, household.village_code,
                household.grid_code, person.status, stamp(when),
            ]
            if self.residents_sink.add(row, protected=person.boundary is not None) is None:
                clean.add(person.gmsfhm)
        return times, clean

    def household(self, household: Household, lives: list[Life]) -> None:
        """Queue the household's hjxx_hxx row and one hjxx_hcybd row per membership."""
        head = household.members[0]
        alone_young = len(lives) == 1 and lives[0].age < 60
        kind = COLLECTIVE if alone_young and self.rng.random() < 0.2 else FAMILY  # a dormitory, a work unit
        if kind == COLLECTIVE:
            self.truths["collective_households"] += 1
        members = sum(1 for life in lives if life.left is None)
        # The household row changes whenever a member's does.
        updated = max(life.registered for life in lives)
        protected = any(life.protected for life in lives)
        self.households_sink.add([
            None, household.number, head.gmsfhm, kind, names.PROVINCE, names.CITY, names.COUNTY, names.TOWNSHIP,
            f"{household.village_name}村委会", household.detail, household.village_code, household.grid_code,
            members, stamp(updated),
        ], protected=protected)
        for life in lives:
            self.members_sink.add([
                None, household.number, life.resident.gmsfhm, life.resident.relation, f"{life.joined:%Y%m%d}",
                f"{life.left:%Y%m%d}" if life.left else None, stamp(self._membership_time(life)),
            ], protected=life.protected)

    def _membership_time(self, life: Life) -> datetime:
        """A change is written with the resident's row, or soon after the event if that came later."""
        event = life.left or life.joined
        if event > life.registered.date():
            return self.clock.between(self.rng, event, event + timedelta(days=20))
        return life.registered
