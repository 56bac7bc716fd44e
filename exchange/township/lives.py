"""What happened to each resident beyond the register row: when they joined the household, whether and
when they left it, and when they died, including the recent deaths the registry has not yet heard of.

Dates follow the register row: a death or move-out is recorded some days before the row's update time
(``gxsj``), which is when the clerk changed the status. Every department reads the same :class:`Life`,
which is what keeps them consistent with each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from exchange.identity import age_on
from exchange.township.dates import birthday
from exchange.township.people import (
    DAUGHTER,
    DECEASED,
    GRANDCHILD,
    HEAD,
    MOVED_OUT,
    OTHER,
    PARENT,
    SON,
    SPOUSE,
    Household,
    Resident,
)

_BORN_INTO = (SON, DAUGHTER, GRANDCHILD)
_MARRIED_IN = (SPOUSE, OTHER)


@dataclass(slots=True)
class Life:
    """One resident as every department sees them (each sees part of it)."""

    resident: Resident
    household: Household
    registered: datetime  # update time of the resident's hjxx_czrk row
    register_clean: bool  # the hjxx_czrk row was left clean (a correct adapter accepts it)
    joined: date  # joined the household: birth, marriage, household split, moving in
    left: date | None  # left it as the registry knows: moved out or registered dead
    died: date | None  # the true death date, registered or not
    death_registered: bool
    age: int  # on as_of, or at death
    # Set by the departments for those that depend on them (family doctors, poverty monitoring).
    chronic: bool = False  # managed for a chronic disease
    certified: bool = False  # holds a valid disability certificate
    stage: str | None = None  # school stage, if enrolled

    @property
    def present(self) -> bool:
        """Alive and still registered in the township."""
        return self.died is None and self.left is None

    @property
    def protected(self) -> bool:
        """A boundary resident: their rows are never spoiled, they never die unnoticed."""
        return self.resident.boundary is not None


class LifeCourse:
    """Draws membership dates and deaths from one seeded random stream."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.yesterday = as_of - timedelta(days=1)

    def for_household(self, household: Household, registered: list[datetime], clean: set[str]) -> list[Life]:
        """A life per member, in member order; ``registered`` are the members' hjxx_czrk update times."""
        since = self._household_since(household.members[0].birth)
        return [self._life(person, household, when, person.gmsfhm in clean, since)
                for person, when in zip(household.members, registered, strict=True)]

    def _household_since(self, head_birth: date) -> date:
        """When the household was set up: the head was 18-30 (a split from the parents' household)."""
        age = age_on(head_birth, self.as_of)
        since = birthday(head_birth, self.rng.randint(18, max(18, min(30, age))))
        return min(since, self.yesterday - timedelta(days=30))

    def _life(self, person: Resident, household: Household, registered: datetime, clean: bool,
              since: date) -> Life:
        rng = self.rng
        joined = min(max(self._joined(person, since), person.birth), self.yesterday)
        left = died = None
        updated = registered.date()
        if person.status == DECEASED:
            died = min(max(updated - timedelta(days=rng.randint(3, 45)), joined), self.yesterday)
            left = died
        elif person.status == MOVED_OUT:
            left = min(max(updated - timedelta(days=rng.randint(0, 30)), joined), self.yesterday)
        elif person.boundary is None and rng.random() < _unnoticed_death_odds(age_on(person.birth, self.as_of)):
            day = self.as_of - timedelta(days=rng.randint(8, 45))
            died = day if day > joined else None
        age = age_on(person.birth, died or self.as_of)
        return Life(person, household, registered, clean, joined, left, died, person.status == DECEASED, age)

    def _joined(self, person: Resident, since: date) -> date:
        rng = self.rng
        relation = person.relation
        if relation == HEAD:
            return since
        if relation in _BORN_INTO:
            return max(person.birth, since)
        if relation in _MARRIED_IN:
            age = age_on(person.birth, self.as_of)
            return max(since, birthday(person.birth, rng.randint(20, max(20, min(27, age)))))
        if relation == PARENT and rng.random() < 0.5:  # moved in with a grown child, some time after
            return date.fromordinal(rng.randint(since.toordinal(), self.yesterday.toordinal()))
        return since


def _unnoticed_death_odds(age: int) -> float:
    """Chance that a resident the registry shows as active died in the last weeks (only civil affairs knows)."""
    return 0.008 if age >= 80 else 0.002 if age >= 65 else 0.00015
