"""Pension scheme participation (human resources and social security, table yl_cbxx).

Everyone aged 16 or more may be in one of two schemes: 170, the urban and rural residents' scheme that
most villagers pay into, and 110, the enterprise employees' scheme of those who worked for a company.
From the scheme's retirement age (60; 55 for women in the employees' scheme) about 97% receive a
pension: 143 yuan of basic pension plus their personal account in the residents' scheme, some thousands
in the employees' one. Of people aged 16 up to that age about 70% pay contributions. A pension of
someone whose death is registered is terminated about seven times in ten; the rest still pay out, as do
those of deaths the registry has not heard of.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from exchange.township.dates import birthday, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, bad_check_digit, invalid_date, missing, replaced, unknown_code
from exchange.township.layouts import YL_CBXX
from exchange.township.lives import Life
from exchange.township.people import MALE

EMPLOYEES, RESIDENTS = "110", "170"  # 险种类型
PAYING, RECEIVING, SUSPENDED, TERMINATED = "1", "2", "3", "4"  # 参保状态
SCHEME_STARTS = {EMPLOYEES: date(1997, 7, 1), RESIDENTS: date(2011, 7, 1)}  # when each reached the county

_ID, _SCHEME, _AMOUNT, _START = (YL_CBXX.index(c) for c in ("sfzhm", "xzlx", "yljje", "ksrq"))


def retirement_age(scheme: str, sex: str) -> int:
    """Age from which a scheme pays a pension (the long-standing ages, before the 2025 reform phases in)."""
    return 55 if scheme == EMPLOYEES and sex != MALE else 60


def pensions_dirt() -> tuple[Rejectable, ...]:
    """How yl_cbxx rows get spoiled; a malformed amount needs a row that has one."""
    return (bad_check_digit(_ID), missing("missing_id", _ID),
            unknown_code("unknown_scheme", _SCHEME, ("11", "17", "1100")),
            replaced("malformed_amount", "invalid_amount", _AMOUNT, ("一千", "1,2OO.00", "待核"), only_if_set=True),
            invalid_date("invalid_start_date", _START, "YYYYMMDD"))


class Pensions(DepartmentRows):
    """Writes the yl_cbxx rows of a household's members."""

    def household(self, lives: list[Life]) -> None:
        """Queue the rows of every member aged 16 or more."""
        for life in lives:
            if life.age >= 16:
                self._person(life)

    def _person(self, life: Life) -> None:
        rng = self.rng
        person = life.resident
        employee = rng.random() < (0.12 if person.sex == MALE else 0.08)
        scheme = EMPLOYEES if employee else RESIDENTS
        retires = birthday(person.birth, retirement_age(scheme, person.sex))
        until = life.died or self.clock.last_day
        if retires < until:
            start = max(retires, SCHEME_STARTS[scheme]) + timedelta(days=rng.randint(0, 90))
            if start >= until or rng.random() >= 0.97:
                return
            status = SUSPENDED if rng.random() < 0.02 else RECEIVING
            if employee and rng.random() < 0.2:
                self._merged_residents_account(life, start)
        else:
            draw = rng.random()
            if draw >= 0.82:
                return
            status = PAYING if draw < 0.77 else SUSPENDED
            joined = birthday(person.birth, rng.randint(16, 25))
            start = max(joined, SCHEME_STARTS[scheme]) + timedelta(days=rng.randint(0, 60))
            if start >= until:
                return
        self._add(life, scheme, status, start)

    def _add(self, life: Life, scheme: str, status: str, start: date) -> None:
        rng = self.rng
        updated = self.clock.between(rng, start, life.died or self.clock.last_day)
        if life.died is not None and life.death_registered and rng.random() < 0.7:
            status, updated = TERMINATED, self._soon_after(life.died)
        elif life.left is not None and life.died is None and rng.random() < 0.3:
            status, updated = TERMINATED, self._soon_after(life.left)  # transferred with the person
        amount = self._amount(scheme) if status == RECEIVING else None
        if life.died is not None:
            self.truths[f"pensions_{'terminated' if status == TERMINATED else 'open'}_after_death"] += 1
        self.sink.add([None, life.resident.gmsfhm, life.resident.name, scheme, status, amount,
                       f"{start:%Y%m%d}", stamp(updated)], protected=life.protected)

    def _merged_residents_account(self, life: Life, employees_start: date) -> None:
        """A residents' scheme account closed when its years were carried over to the employees' scheme."""
        rng = self.rng
        joined = max(birthday(life.resident.birth, rng.randint(16, 30)), SCHEME_STARTS[RESIDENTS])
        if joined < employees_start:
            self.sink.add([None, life.resident.gmsfhm, life.resident.name, RESIDENTS, TERMINATED, None,
                           f"{joined:%Y%m%d}", stamp(self._soon_after(employees_start))],
                          protected=life.protected)

    def _amount(self, scheme: str) -> str:
        rng = self.rng
        yuan = 143 + rng.randint(0, 280) if scheme == RESIDENTS else rng.randint(2600, 4800)
        return f"{yuan}.{rng.choice(('00', '20', '50', '80'))}"

    def _soon_after(self, day: date) -> datetime:
        return self.clock.soon_after(self.rng, day, 30)
