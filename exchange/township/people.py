"""Households and residents: who lives together, how old they are, their names and ID numbers.

Households are composed from the head outwards, the way a rural household register reads: a head, a
spouse, children still at home, the head's parents, or, for older heads, a married son with his wife
and children. The head-age mix and the co-residence odds are tuned so that a township has a rural
Yunnan age structure (about 17% under 15, about 4% aged 80 or over, about 3.3 people per household).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from exchange.errors import ConfigError
from exchange.identity import make_resident_id
from exchange.township import names
from exchange.township.dates import birth_ordinal_ranges

# Relationship to the head of household (GB/T 4761).
HEAD, SPOUSE, SON, DAUGHTER, GRANDCHILD = "02", "10", "20", "30", "40"
PARENT, SIBLING, OTHER = "50", "70", "99"
MALE, FEMALE = "1", "2"  # GB/T 2261.1
ACTIVE, MOVED_OUT, DECEASED = "0", "1", "2"

MAX_AGE = 104
MAX_MEMBERS = 6

# Head of household age bands (first age, last age, weight); weights tuned against the target structure.
_HEAD_AGE_BANDS = ((22, 29, 6), (30, 39, 16), (40, 49, 21), (50, 59, 21), (60, 69, 18), (70, 79, 12),
                   (80, 89, 3.5), (90, 99, 0.5))
_HEAD_BAND_WEIGHTS = [band[2] for band in _HEAD_AGE_BANDS]


@dataclass(slots=True)
class Resident:
    """One person on the household register, with the truth the generator knows about them."""

    gmsfhm: str
    name: str
    sex: str
    ethnicity: str
    birth: date
    relation: str
    status: str = ACTIVE
    boundary: str | None = None  # label in the manifest's boundary_residents, if any


@dataclass(slots=True)
class Household:
    """A registered household: number, address, grid and members (the head first).

    ``address`` is the full registered address; ``detail`` its part below the village (group and house).
    """

    number: str
    address: str
    village_code: str
    grid_code: str
    members: list[Resident] = field(default_factory=list)
    village_name: str = ""
    detail: str = ""


class IdAllocator:
    """Hands out unique sequence codes per (birth date, sex), so every generated number is unique.

    The k-th person of a sex born on a day gets slot ``(37k + 131·day) mod 499``: a permutation of the
    499 slots, so numbers look scattered like real ones yet never collide. Memory is one counter per
    (day, sex) seen, about 75,000 for a full age range, whatever the number of residents.
    """

    _SLOTS = 499  # odd sequences 001-997 for men, even 002-998 for women

    def __init__(self, area_code: str) -> None:
        self.area_code = area_code
        self._used: dict[int, int] = {}

    def allocate(self, birth: date, sex: str) -> str:
        """A fresh valid ID number for someone of ``sex`` born on ``birth``."""
        day = birth.toordinal()
        key = day * 2 + (sex == MALE)
        k = self._used.get(key, 0)
        if k >= self._SLOTS:
            raise ConfigError(f"more than {self._SLOTS} residents of one sex born on {birth}; "
                              "that many residents cannot all get distinct ID numbers")
        self._used[key] = k + 1
        slot = (37 * k + 131 * day) % self._SLOTS
        sequence = 2 * slot + 1 if sex == MALE else 2 * slot + 2
        return make_resident_id(self.area_code, birth, sequence)


@dataclass(slots=True)
class _Member:
    relation: str
    age: int
    sex: str
    surname: str


class HouseholdComposer:
    """Draws household compositions, names and birth dates from one seeded random stream."""

    def __init__(self, rng: random.Random, as_of: date, ids: IdAllocator) -> None:
        self.rng = rng
        self.as_of = as_of
        self.ids = ids
        self._birth_ranges = birth_ordinal_ranges(as_of, MAX_AGE + 1)
        self._old_pool_before = date(1965, 1, 1)

    # -- composition -------------------------------------------------------------------------------

    def _surname(self) -> str:
        return self.rng.choices(names.SURNAMES, names.SURNAME_WEIGHTS)[0]

    def _head_age(self) -> int:
        first, last, _ = self.rng.choices(_HEAD_AGE_BANDS, _HEAD_BAND_WEIGHTS)[0]
        return self.rng.randint(first, last)

    def compose(self, head_age: int | None = None) -> list[_Member]:
        """Members of one household, head first, at most six."""
        rng = self.rng
        age = self._head_age() if head_age is None else head_age
        # Women head more of the oldest households: they outlive their husbands.
        head_sex = MALE if rng.random() < (0.5 if age >= 80 else 0.86) else FEMALE
        head = _Member(HEAD, age, head_sex, self._surname())
        members = [head]
        p_spouse = 0.75 if age < 30 else 0.9 if age < 60 else 0.8 if age < 70 else 0.65 if age < 80 else 0.38
        lineage = head.surname
        if rng.random() < p_spouse:
            gap = rng.randint(0, 5)
            spouse_sex = FEMALE if head_sex == MALE else MALE
            spouse_age = age - gap if spouse_sex == FEMALE else age + gap
            spouse = _Member(SPOUSE, max(20, min(spouse_age, MAX_AGE)), spouse_sex, self._surname())
            members.append(spouse)
            if spouse_sex == MALE:
                lineage = spouse.surname  # children take their father's surname
        if age < 60:
            self._add_children(members, age, lineage)
            self._add_parents(members, age, head)
            if rng.random() < 0.03:
                sex = MALE if rng.random() < 0.5 else FEMALE
                members.append(_Member(SIBLING, max(16, age + rng.randint(-8, 8)), sex, head.surname))
        elif rng.random() < (0.42 if age < 80 else 0.55):
            self._add_sons_family(members, age, lineage)
        elif rng.random() < 0.12:
            sex = MALE if rng.random() < 0.6 else FEMALE
            members.append(_Member(SON if sex == MALE else DAUGHTER, age - rng.randint(22, 34), sex, lineage))
        return members[:MAX_MEMBERS]

    def _add_children(self, members: list[_Member], head_age: int, lineage: str) -> None:
        rng = self.rng
        count = rng.choices((0, 1, 2, 3), (8, 30, 44, 18))[0]
        for _ in range(count):
            child_age = head_age - rng.randint(21, 36)
            # Grown children mostly have households of their own or work in the city.
            if child_age < 0 or (child_age >= 22 and rng.random() < 0.6):
                continue
            sex = MALE if rng.random() < 0.52 else FEMALE
            members.append(_Member(SON if sex == MALE else DAUGHTER, child_age, sex, lineage))

    def _add_parents(self, members: list[_Member], head_age: int, head: _Member) -> None:
        rng = self.rng
        draw = rng.random()
        count = 2 if draw < 0.12 else 1 if draw < 0.36 else 0
        ages = [head_age + rng.randint(22, 34) for _ in range(count)]
        ages = [a for a in ages if a <= MAX_AGE]
        if len(ages) == 2:
            members.append(_Member(PARENT, ages[0], MALE, head.surname))
            members.append(_Member(PARENT, ages[1], FEMALE, self._surname()))
        elif ages:
            if rng.random() < 0.3:  # a surviving parent is more often the mother
                members.append(_Member(PARENT, ages[0], MALE, head.surname))
            else:
                members.append(_Member(PARENT, ages[0], FEMALE, self._surname()))

    def _add_sons_family(self, members: list[_Member], head_age: int, lineage: str) -> None:
        rng = self.rng
        son_age = max(18, head_age - rng.randint(22, 34))
        members.append(_Member(SON, son_age, MALE, lineage))
        if rng.random() < 0.85:
            members.append(_Member(OTHER, max(18, son_age + rng.randint(-5, 2)), FEMALE, self._surname()))
        for _ in range(rng.choices((0, 1, 2, 3), (12, 36, 40, 12))[0]):
            grandchild_age = son_age - rng.randint(20, 32)
            if grandchild_age >= 0:
                sex = MALE if rng.random() < 0.52 else FEMALE
                members.append(_Member(GRANDCHILD, grandchild_age, sex, lineage))

    # -- people ------------------------------------------------------------------------------------

    def _given_name(self, sex: str, birth: date) -> str:
        rng = self.rng
        older = birth < self._old_pool_before
        if sex == MALE:
            pool = names.MALE_CHARS_OLDER if older else names.MALE_CHARS_YOUNGER
        else:
            pool = names.FEMALE_CHARS_OLDER if older else names.FEMALE_CHARS_YOUNGER
        return rng.choice(pool) + rng.choice(pool) if rng.random() < 0.78 else rng.choice(pool)

    def _ethnicity(self) -> str:
        return self.rng.choices(names.ETHNICITY_CODES, names.ETHNICITY_WEIGHTS)[0]

    def _status(self, age: int) -> str:
        draw = self.rng.random()
        # Deaths stay on the register with status 2; most are of the very old.
        p_dead = 0.055 if age >= 80 else 0.012 if age >= 65 else 0.0015
        if draw < p_dead:
            return DECEASED
        # Moving out (school, work, marriage) is for young adults.
        p_moved = 0.03 if 18 <= age <= 40 else 0.002
        return MOVED_OUT if draw < p_dead + p_moved else ACTIVE

    def residents(self, members: list[_Member], forced_births: dict[int, tuple[date, str]]) -> list[Resident]:
        """Turn composed members into residents; ``forced_births`` pins member index → (birth, label)."""
        rng = self.rng
        household_ethnicity = self._ethnicity()
        people = []
        for index, member in enumerate(members):
            forced = forced_births.get(index)
            if forced is not None:
                birth, label = forced
            else:
                earliest, latest = self._birth_ranges[member.age]
                birth, label = date.fromordinal(rng.randint(earliest, latest)), None
            # Spouses and daughters-in-law married in, sometimes from another ethnic group.
            married_in = member.relation in (SPOUSE, OTHER) and rng.random() < 0.3
            people.append(Resident(
                gmsfhm=self.ids.allocate(birth, member.sex),
                name=member.surname + self._given_name(member.sex, birth),
                sex=member.sex,
                ethnicity=self._ethnicity() if married_in else household_ethnicity,
                birth=birth,
                relation=member.relation,
                status=ACTIVE if label else self._status(member.age),
                boundary=label,
            ))
        return people
