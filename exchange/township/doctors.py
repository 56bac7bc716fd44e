"""Family-doctor contracts (家庭医生签约), exported as CSV (UTF-8 with BOM).

About 40% of residents have signed, about 75% of those aged 65+, and most managed chronic patients.
A contract runs a year (some three) from its signing in the last year or three. Its service package
follows the person on the day they signed: 妇幼包 under 7, 老年人包 from 65, else 慢病包 for a patient
under chronic-disease management, else 残疾人包 for a holder of a valid disability certificate, else
基础包. Teams are the village clinic's or one of the township health centre's.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from exchange.identity import age_on
from exchange.township import names
from exchange.township.chronic import HEALTH_CENTRE
from exchange.township.dates import OfficeClock, birthday, earlier, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, Row, bad_check_digit, missing, unknown_code
from exchange.township.layouts import FAMILY_DOCTORS
from exchange.township.lives import Life
from exchange.township.sinks import Sink

BASIC, ELDERLY, CHRONIC, DISABLED, MATERNAL_CHILD = "基础包", "老年人包", "慢病包", "残疾人包", "妇幼包"
DATE_FORMAT = "%Y/%m/%d"
CENTRE_TEAMS = 6

_ID, _DOCTOR = FAMILY_DOCTORS.index("身份证号"), FAMILY_DOCTORS.index("签约医生")
_SIGNED, _EXPIRES = FAMILY_DOCTORS.index("签约日期"), FAMILY_DOCTORS.index("到期日期")
_UPDATED = FAMILY_DOCTORS.index("更新时间")


def package_for(age: int, chronic: bool, certified: bool) -> str:
    """The service package of someone of ``age`` on the day they sign."""
    if age < 7:
        return MATERNAL_CHILD
    if age >= 65:
        return ELDERLY
    return CHRONIC if chronic else DISABLED if certified else BASIC


def contracts_dirt() -> tuple[Rejectable, ...]:
    """How contract rows get spoiled; an expiry before the signing is an invalid date by the contract."""
    def expiry_before_signing(rng: random.Random, row: Row) -> bool:
        signed = date(*(int(part) for part in row[_SIGNED].split("/")))
        row[_EXPIRES] = f"{signed - timedelta(days=rng.randint(1, 365)):{DATE_FORMAT}}"
        return True

    return (bad_check_digit(_ID), missing("missing_id", _ID),
            unknown_code("unknown_package", FAMILY_DOCTORS.index("服务包"), ("家庭包", "VIP包", "高血压包")),
            Rejectable("expiry_before_signing", "invalid_date", expiry_before_signing))


class FamilyDoctors(DepartmentRows):
    """Writes the contracts of a household's members; run after chronic diseases and certificates."""

    def __init__(self, rng: random.Random, clock: OfficeClock, sink: Sink, truths: Counter[str]) -> None:
        super().__init__(rng, clock, sink, truths)
        self._next_contract = 1
        self._centre_doctors = [self._doctor_name() for _ in range(CENTRE_TEAMS)]
        self._village_doctors: dict[str, str] = {}

    def household(self, lives: list[Life]) -> None:
        """Queue the contracts of the members who signed one."""
        for life in lives:
            if life.left is not None and life.died is None:
                continue  # moved away: signs with a doctor where they live now
            age = age_on(life.resident.birth, self.clock.as_of)
            odds = 0.75 if age >= 65 else 0.5 if age < 7 else 0.7 if life.chronic else 0.6 if life.certified else 0.3
            if self.rng.random() < odds:
                self._contract(life)

    def _contract(self, life: Life) -> None:
        rng = self.rng
        years = 3 if rng.random() < 0.15 else 1
        first = max(self.clock.as_of - timedelta(days=365 * years), life.resident.birth)
        last = min(life.died or self.clock.last_day, self.clock.last_day) - timedelta(days=1)
        if first > last:
            return
        signed = date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))
        expires = birthday(signed, years) - timedelta(days=1)
        package = package_for(age_on(life.resident.birth, signed), life.chronic, life.certified)
        team, doctor = self._team(life.household.village_name)
        number = f"QY{signed.year}{self._next_contract:07d}"
        self._next_contract += 1
        self.truths["family_doctor_contracts"] += 1

        def stale(rng: random.Random, row: Row) -> Row:
            # Before the team changed its doctor.
            copy = list(row)
            copy[_DOCTOR] = self._doctor_name()
            copy[_UPDATED] = earlier(row[_UPDATED], rng.randint(86400, 60 * 86400))
            return copy

        self.sink.add([number, life.resident.gmsfhm, life.resident.name, team, doctor, f"{signed:{DATE_FORMAT}}",
                       f"{expires:{DATE_FORMAT}}", package, stamp(self.clock.soon_after(rng, signed, 15))],
                      protected=life.protected, stale=stale)

    def _team(self, village: str) -> tuple[str, str]:
        """The village clinic's team (7 in 10 contracts), or one of the health centre's."""
        if self.rng.random() < 0.7:
            if village not in self._village_doctors:
                self._village_doctors[village] = self._doctor_name()
            return f"{village}村家庭医生团队", self._village_doctors[village]
        team = self.rng.randrange(CENTRE_TEAMS)
        return f"{HEALTH_CENTRE}第{team + 1}团队", self._centre_doctors[team]

    def _doctor_name(self) -> str:
        rng = self.rng
        surname = rng.choices(names.SURNAMES, names.SURNAME_WEIGHTS)[0]
        pool = names.MALE_CHARS_YOUNGER if rng.random() < 0.5 else names.FEMALE_CHARS_YOUNGER
        return surname + rng.choice(pool) + rng.choice(pool)
