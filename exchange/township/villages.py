"""The township's geography: villages, their grids and villager groups, household numbers and addresses.

Codes follow the 12-digit statistical division code (GB/T 2260 extended to township and village):
``530124`` county, ``530124101`` township, ``530124101201`` village; a grid adds two digits
(``53012410120101``) and a household number adds a 4-digit serial to the village code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from itertools import product

from exchange.errors import ConfigError
from exchange.township import names
from exchange.township.people import Household, HouseholdComposer

RESIDENTS_PER_VILLAGE = 600
HOUSEHOLDS_PER_GRID = 150
HOUSEHOLDS_PER_GROUP = 40
MAX_GRIDS = 99  # two digits
MAX_HOUSEHOLDS = 9999  # four digits


@dataclass(frozen=True, slots=True)
class VillagePlan:
    """A village to generate: its code, its name and how many residents it gets."""

    code: str
    name: str
    residents: int


@dataclass(slots=True)
class BuiltVillage:
    """A generated village: households in register order and its grids as (code, name) pairs."""

    plan: VillagePlan
    households: list[Household]
    grids: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ForcedHead:
    """A household whose head must have this birth date (a boundary resident) and this age as_of."""

    birth: date
    age: int
    label: str


def plan_villages(rng: random.Random, residents: int) -> list[VillagePlan]:
    """About one village per 600 residents (1 to 199), sizes varying ±40%, summing to ``residents``."""
    count = max(1, min(names.MAX_VILLAGES, round(residents / RESIDENTS_PER_VILLAGE)))
    all_names = [first + last for first, last in product(names.VILLAGE_PREFIXES, names.VILLAGE_SUFFIXES)]
    chosen = rng.sample(all_names, count)
    weights = [rng.uniform(0.6, 1.4) for _ in range(count)]
    total = sum(weights)
    sizes = [int(residents * weight / total) for weight in weights]
    for index in range(residents - sum(sizes)):  # hand out the rounding remainder, one each
        sizes[index % count] += 1
    return [
        VillagePlan(f"{names.TOWNSHIP_CODE}{names.FIRST_VILLAGE_SERIAL + index:03d}", name, size)
        for index, (name, size) in enumerate(zip(chosen, sizes, strict=True))
    ]


def build_village(
    composer: HouseholdComposer, plan: VillagePlan, forced: list[ForcedHead] | None = None
) -> BuiltVillage:
    """Compose households until the village holds exactly ``plan.residents`` people.

    Forced households (boundary residents) are composed first, so they always fit, then moved to random
    places in the register so they do not sit at the top of every file.
    """
    rng = composer.rng
    remaining = plan.residents
    special = []
    for head in forced or []:
        members = composer.compose(head_age=head.age)[:remaining]
        remaining -= len(members)
        special.append(composer.residents(members, {0: (head.birth, head.label)}))
    ordinary = []
    while remaining > 0:
        members = composer.compose()[:remaining]
        remaining -= len(members)
        ordinary.append(composer.residents(members, {}))
    for people in special:
        ordinary.insert(rng.randint(0, len(ordinary)), people)
    if len(ordinary) > MAX_HOUSEHOLDS:
        raise ConfigError(
            f"village {plan.code} would have {len(ordinary)} households (at most {MAX_HOUSEHOLDS})")

    grid_count = max(1, min(MAX_GRIDS, round(len(ordinary) / HOUSEHOLDS_PER_GRID)))
    grids = [(f"{plan.code}{n:02d}", f"{plan.name}第{n}网格") for n in range(1, grid_count + 1)]
    prefix = address_prefix(plan.name)
    households = []
    house_number = 0
    for index, people in enumerate(ordinary):
        group_index, position = divmod(index, HOUSEHOLDS_PER_GROUP)
        if position == 0:
            house_number = 0
        house_number += rng.randint(1, 3)  # numbering has gaps where houses were pulled down or merged
        if group_index < len(names.GROUP_NAMES):
            group = names.GROUP_NAMES[group_index] + "组"
        else:
            group = f"第{group_index + 1}村民小组"
        households.append(Household(
            number=f"{plan.code}{index + 1:04d}",
            address=f"{prefix}{group}{house_number}号",
            village_code=plan.code,
            grid_code=grids[index * grid_count // len(ordinary)][0],
            members=people,
            village_name=plan.name,
            detail=f"{group}{house_number}号",
        ))
    return BuiltVillage(plan, households, grids)


def address_prefix(village: str) -> str:
    """The registered address down to the village committee."""
    return f"{names.PROVINCE}{names.CITY}{names.COUNTY}{names.TOWNSHIP}{village}村委会"


class AddressBook:
    """Addresses anywhere in the township, for people found living somewhere other than their registration."""

    def __init__(self, plans: list[VillagePlan]) -> None:
        self._prefixes = [address_prefix(plan.name) for plan in plans]

    def elsewhere(self, rng: random.Random, registered: str) -> str:
        """An address in some village of the township, not ``registered``."""
        while True:
            group = names.GROUP_NAMES[rng.randrange(6)]
            address = f"{rng.choice(self._prefixes)}{group}组{rng.randint(1, 90)}号"
            if address != registered:
                return address
