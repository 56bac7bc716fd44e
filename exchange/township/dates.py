"""Calendar arithmetic for the generator: birthdays, birth-date ranges and office-hours timestamps."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

# Clerks key records in between 08:30 and 17:30; timestamps outside that would look odd in a demo.
_OFFICE_OPEN = 8 * 3600 + 30 * 60
_OFFICE_SECONDS = 9 * 3600


def years_before(day: date, years: int) -> date:
    """The same month and day ``years`` earlier; 29 February falls back to 28 February.

    That fallback makes ``years_before(day, n)`` the latest birth date with ``age_on(birth, day) == n``
    (someone born on 28 February of a common year is already n on 29 February n years later).
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birthday(birth: date, years: int) -> date:
    """The day on which someone born on ``birth`` turns ``years`` (29 February → 1 March in common years).

    Agrees with :func:`exchange.identity.age_on`.
    """
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def birth_ordinal_ranges(as_of: date, max_age: int) -> list[tuple[int, int]]:
    """For each age 0..max_age, the (earliest, latest) birth-date ordinals giving that age on ``as_of``."""
    return [
        (years_before(as_of, age + 1).toordinal() + 1, years_before(as_of, age).toordinal())
        for age in range(max_age + 1)
    ]


class OfficeClock:
    """Random working-hours timestamps in the year before ``as_of`` (as_of itself excluded)."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.first_day = as_of - timedelta(days=365)
        self.last_day = as_of - timedelta(days=1)

    def between(self, rng: random.Random, first: date, last: date) -> datetime:
        """A timestamp on a day in [first, last] (clamped to the clock's year), during office hours."""
        first = max(first, self.first_day)
        last = max(min(last, self.last_day), first)
        day = date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))
        seconds = _OFFICE_OPEN + rng.randrange(_OFFICE_SECONDS)
        return datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60))

    def soon_after(self, rng: random.Random, day: date, days: int) -> datetime:
        """A timestamp within ``days`` after ``day``; anywhere in the year if that lies before the year.

        (An old event's row was last written some time this year: a migration, an annual check.)
        """
        if day + timedelta(days=days) < self.first_day:
            return self.any_time(rng)
        return self.between(rng, day, day + timedelta(days=days))

    def any_time(self, rng: random.Random) -> datetime:
        """A timestamp anywhere in the clock's year."""
        return self.between(rng, self.first_day, self.last_day)


def stamp(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS``, the timestamp text every department export uses."""
    return moment.isoformat(" ", "seconds")


def earlier(text: str, seconds: int) -> str:
    """The ``YYYY-MM-DD HH:MM:SS`` timestamp ``text``, ``seconds`` earlier."""
    return stamp(datetime.fromisoformat(text) - timedelta(seconds=seconds))
