"""What a process is evaluated over: an entity view, today's date, and for households the members."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from exchange.entities import EntityView, Fact
from exchange.identity import age_on

HOUSEHOLD_PREFIX = "household:"


@dataclass(slots=True)
class Member:
    """One member of a household: their resident view, which includes their ``household_member`` fact."""

    resident_id: str
    membership: Fact
    view: EntityView

    @property
    def current(self) -> bool:
        """Whether the membership has not ended (no ``until_date``)."""
        return not self.membership.payload.get("until_date")


@dataclass(slots=True)
class Scope:
    """The view a condition or field reads, on ``today``.

    ``members`` are the household's members (household processes); ``household`` is the household view
    while a condition is evaluated for one member (``any_member``), read through ``household:`` paths.
    """

    view: EntityView
    today: date
    members: list[Member] = field(default_factory=list)
    household: EntityView | None = None

    def for_member(self, member: Member) -> Scope:
        return Scope(member.view, self.today, household=self.view)

    def values(self, path: str) -> list[tuple[Any, Fact]]:
        """Each present value of ``[household:]record_type.field``, newest first, with its fact."""
        if path.startswith(HOUSEHOLD_PREFIX):
            return [] if self.household is None else self.household.values(path.removeprefix(HOUSEHOLD_PREFIX))
        return self.view.values(path)

    def first(self, path: str) -> Any:
        found = self.values(path)
        return found[0][0] if found else None

    def birth_date(self) -> tuple[date, Fact] | None:
        found = self.view.values("resident.birth_date")
        if not found:
            return None
        value, fact = found[0]
        parsed = as_date(value)
        return None if parsed is None else (parsed, fact)

    def age(self) -> int | None:
        born = self.birth_date()
        return None if born is None else age_on(born[0], self.today)

    def value(self, path: str) -> Any:
        """The newest value of ``path``, or the computed ``age``."""
        return self.age() if path == "age" else self.first(path)

    def current_members(self, include_former: bool = False) -> list[Member]:
        return [m for m in self.members if include_former or m.current]


def as_date(value: Any) -> date | None:
    """``value`` (an ISO date, or an ISO timestamp whose date part counts) as a date, else None."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
