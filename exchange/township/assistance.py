"""Who receives civil-affairs assistance, from the generator's ground truth about each household.

- 高龄津贴 (elderly allowance): about 60% of active residents aged 80+, 50 / 100 / 300 yuan a month for
  80-89 / 90-99 / 100+; people who turned 80 in the last six weeks have rarely been enrolled yet, and
  boundary residents never are (they are exactly the people an enrolment review is for).
- 低保 (subsistence allowance): every member of about 4% of households, about 600 yuan per person.
- 特困供养 (extreme-poverty support): about 0.5% of residents, mostly old people living alone, about
  950 yuan; never in a household that already receives 低保 (the two are exclusive by policy).

Records of people who moved out, and of households that left 低保, are ended (已停发). So are those of
people who died, some weeks after the death, when civil affairs knows of it: always for the deaths it
learnt of at the funeral, for about three in four registered deaths (the others still pay out).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from exchange.identity import age_on
from exchange.township.dates import OfficeClock, birthday
from exchange.township.lives import Life
from exchange.township.people import ACTIVE

SUBSISTENCE, EXTREME_POVERTY, ELDERLY = "低保", "特困供养", "高龄津贴"
RECEIVING, SUSPENDED, ENDED = "享受中", "暂停", "已停发"
PROGRAMMES = (SUBSISTENCE, EXTREME_POVERTY, ELDERLY)
STATUSES = (RECEIVING, SUSPENDED, ENDED)


@dataclass(slots=True)
class Assistance:
    """One assistance record (one person, one programme) before it gets a record number."""

    life: Life
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

    def for_household(self, lives: list[Life]) -> list[Assistance]:
        """All records for the members of a household, in member order."""
        rng = self.rng
        records: list[Assistance] = []
        if rng.random() < 0.04:
            self._subsistence(lives, records)
            poor_household = True
        else:
            poor_household = False
        living_alone = len(lives) == 1
        for life in lives:
            person = life.resident
            age = life.age
            if age >= 80 and person.boundary is None:
                self._elderly(life, records)
            p_extreme = 0.25 if living_alone and age >= 60 else 0.0022
            if not poor_household and person.boundary is None and rng.random() < p_extreme:
                amount = rng.choice((90000, 95000, 95000, 100000))
                start = self._start_after(person.birth, 16)
                if start is not None:
                    self._add(records, life, EXTREME_POVERTY, start, amount)
        return records

    def _subsistence(self, lives: list[Life], records: list[Assistance]) -> None:
        rng = self.rng
        household_start = self.as_of - timedelta(days=rng.randint(60, 6 * 365))
        left_programme = rng.random() < 0.08  # the household's income rose above the line
        for life in lives:
            start = max(household_start, life.resident.birth + timedelta(days=30))
            if start >= self._yesterday:
                continue  # a newborn not yet added to the household's allowance
            amount = rng.choice((54000, 57000, 60000, 60000, 63000, 66000))
            self._add(records, life, SUBSISTENCE, start, amount, force_end=left_programme)

    def _elderly(self, life: Life, records: list[Assistance]) -> None:
        rng = self.rng
        person = life.resident
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
        record = self._add(records, life, ELDERLY, start, 0)
        if record is not None:
            record.amount_fen = elderly_amount_fen(age_on(person.birth, record.end or self.as_of))

    def _start_after(self, birth: date, years: int) -> date | None:
        """A start date some months to years back, but not before ``years`` of age; None if impossible."""
        earliest = birthday(birth, years)
        start = max(earliest, self.as_of - timedelta(days=self.rng.randint(60, 8 * 365)))
        return start if start < self._yesterday else None

    def _add(self, records: list[Assistance], life: Life, programme: str, start: date, amount_fen: int, *,
             force_end: bool = False) -> Assistance | None:
        """Append a record starting on ``start``, ended or not; none if the person died before it could start."""
        rng = self.rng
        gone = life.died or life.left
        if gone is not None and gone <= start:
            return None
        if life.died is not None:  # civil affairs knows of the deaths it saw at the funeral, of most others
            stopped = life.died if not life.death_registered or rng.random() < 0.75 else None
        else:
            stopped = life.left
        end = None
        if stopped is not None:
            end = stopped + timedelta(days=rng.randint(0, 40))  # payments stop at the next monthly run
        elif force_end:
            first = max(start + timedelta(days=1), self.clock.first_day)
            end = date.fromordinal(rng.randint(first.toordinal(), max(first, self._yesterday).toordinal()))
        if end is not None:
            end = min(max(end, start + timedelta(days=1)), self._yesterday)
            status = ENDED
            updated = self.clock.between(rng, end, end + timedelta(days=rng.randint(0, 5)))
        else:
            # Suspension: the annual eligibility check or proof-of-life was not done in time.
            status = SUSPENDED if rng.random() < 0.04 else RECEIVING
            updated = self.clock.between(rng, start, min(life.died or self._yesterday, self._yesterday))
        record = Assistance(life, programme, status, start, end, amount_fen, updated)
        records.append(record)
        return record
