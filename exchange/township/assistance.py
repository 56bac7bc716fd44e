"""Who receives civil-affairs assistance, from the generator's ground truth about each household.

- 高龄津贴 (elderly allowance): about 60% of active residents aged 80+, 50 / 100 / 300 yuan a month for
  80-89 / 90-99 / 100+; people who turned 80 in the last six weeks have rarely been enrolled yet, and
  boundary residents never are (they are exactly the people an enrolment review is for).
- 低保 (subsistence allowance): every member of about 4% of households, about 600 yuan per person.
- 特困供养 (extreme-poverty support): about 0.5% of residents, mostly old people living alone, about
  950 yuan; never in a household that already receives 低保 (the two are exclusive by policy).

Records of people who died or moved out, and of households that left 低保, are ended (已停发).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from exchange.identity import age_on
from exchange.township.dates import OfficeClock, birthday
from exchange.township.people import ACTIVE, Household, Resident

SUBSISTENCE, EXTREME_POVERTY, ELDERLY = "低保", "特困供养", "高龄津贴"
RECEIVING, SUSPENDED, ENDED = "享受中", "暂停", "已停发"
PROGRAMMES = (SUBSISTENCE, EXTREME_POVERTY, ELDERLY)
STATUSES = (RECEIVING, SUSPENDED, ENDED)


@dataclass(slots=True)
class Assistance:
    """One assistance record (one person, one programme) before it gets a record number."""

    resident: Resident
    programme: str
    status: str
    start: date
    end: date | None
    amount_fen: int  # money in fen (0.01 yuan), so no float ever touches it
    updated: datetime


def elderly_amount_fen(age: int) -> int:
    """Monthly elderly allowance in fen for an age of 80 or more."""
    return 30000 if age >= 100 else 10000 if age >= 90 else 5000


class AssistancePolicy:
    """Draws a household's assistance records from its own seeded random stream."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.clock = OfficeClock(as_of)
        self._yesterday = as_of - timedelta(days=1)

    def for_household(self, household: Household) -> list[Assistance]:
        """All records for the members of ``household``, in member order."""
        rng = self.rng
        records: list[Assistance] = []
        members = household.members
        if rng.random() < 0.04:
            self._subsistence(members, records)
            poor_household = True
        else:
            poor_household = False
        living_alone = len(members) == 1
        for person in members:
            age = age_on(person.birth, self.as_of)
            if age >= 80 and person.boundary is None:
                self._elderly(person, age, records)
            p_extreme = 0.25 if living_alone and age >= 60 else 0.0022
            if not poor_household and person.boundary is None and rng.random() < p_extreme:
                amount = rng.choice((90000, 95000, 95000, 100000))
                start = self._start_after(person.birth, 16)
                if start is not None:
                    records.append(self._record(person, EXTREME_POVERTY, start, amount))
        return records

    def _subsistence(self, members: list[Resident], records: list[Assistance]) -> None:
        rng = self.rng
        household_start = self.as_of - timedelta(days=rng.randint(60, 6 * 365))
        left_programme = rng.random() < 0.08  # the household's income rose above the line
        for person in members:
            start = max(household_start, person.birth + timedelta(days=30))
            if start >= self._yesterday:
                continue  # a newborn not yet added to the household's allowance
            amount = rng.choice((54000, 57000, 60000, 60000, 63000, 66000))
            records.append(self._record(person, SUBSISTENCE, start, amount, force_end=left_programme))

    def _elderly(self, person: Resident, age: int, records: list[Assistance]) -> None:
        rng = self.rng
        turned_80 = birthday(person.birth, 80)
        if turned_80 >= self._yesterday:
            return
        if person.status == ACTIVE:
            # Enrolment takes weeks: few who turned 80 in the last six weeks are on the list yet.
            recent = (self.as_of - turned_80).days < 45
            if rng.random() >= (0.1 if recent else 0.63):
                return
        elif rng.random() >= 0.6:
            return
        start = min(turned_80 + timedelta(days=rng.randint(20, 150)), self._yesterday - timedelta(days=1))
        record = self._record(person, ELDERLY, start, elderly_amount_fen(age))
        if record.end is not None:
            record.amount_fen = elderly_amount_fen(age_on(person.birth, record.end))
        records.append(record)

    def _start_after(self, birth: date, years: int) -> date | None:
        """A start date some months to years back, but not before ``years`` of age; None if impossible."""
        earliest = birthday(birth, years)
        start = max(earliest, self.as_of - timedelta(days=self.rng.randint(60, 8 * 365)))
        return start if start < self._yesterday else None

    def _record(
        self, person: Resident, programme: str, start: date, amount_fen: int, *, force_end: bool = False
    ) -> Assistance:
        rng = self.rng
        end: date | None = None
        if force_end or person.status != ACTIVE:
            status = ENDED
            first = min(max(start + timedelta(days=1), self.clock.first_day), self._yesterday)
            end = date.fromordinal(rng.randint(first.toordinal(), self._yesterday.toordinal()))
            updated = self.clock.between(rng, end, end + timedelta(days=rng.randint(0, 5)))
        else:
            # Suspension: the annual eligibility check or proof-of-life was not done in time.
            status = SUSPENDED if rng.random() < 0.04 else RECEIVING
            updated = self.clock.between(rng, start, self._yesterday)
        return Assistance(person, programme, status, start, end, amount_fen, updated)
