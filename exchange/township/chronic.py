"""Chronic disease management of the public-health system (慢病管理), exported as GB18030 CSV.

Hypertension rises with age from about 10% at 35-44 to nearly half of those over 75 (about 25% of adults
aged 35+ overall); type-2 diabetes from 3% to 12% (about 8%); a few residents are managed for a severe
mental disorder or tuberculosis. Patients are followed up quarterly at the village clinic or the
township health centre: most are under management (在管), some lost to follow-up (失访), and the
records of moved-out or dead patients, and of cured tuberculosis, are often closed (结案).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from exchange.township import names
from exchange.township.dates import birthday, earlier, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, Row, StaleCopy, bad_check_digit, invalid_date, missing, unknown_code
from exchange.township.layouts import CHRONIC_DISEASES
from exchange.township.lives import Life

HYPERTENSION, DIABETES, MENTAL, TUBERCULOSIS, OTHER = "高血压", "2型糖尿病", "严重精神障碍", "肺结核", "其他"
UNDER_MANAGEMENT, LOST, ENDED = "在管", "失访", "结案"
HEALTH_CENTRE = f"{names.TOWNSHIP}社区卫生服务中心"
DATE_FORMAT = "%Y/%m/%d"
# Keys of the manifest's cross-department truths: chronic_<name> counts a disease's rows.
_TRUTH_NAMES = {HYPERTENSION: "hypertension", DIABETES: "type_2_diabetes", MENTAL: "severe_mental_disorder",
                TUBERCULOSIS: "tuberculosis", OTHER: "other"}

_ID, _FOLLOW_UP = CHRONIC_DISEASES.index("身份证号"), CHRONIC_DISEASES.index("末次随访日期")
_STATUS, _UPDATED = CHRONIC_DISEASES.index("管理状态"), CHRONIC_DISEASES.index("更新时间")


def odds(disease: str, age: int) -> float:
    """Share of residents of an age managed for ``disease``."""
    if age < 18 and disease in (HYPERTENSION, DIABETES):
        return 0.0
    if disease == HYPERTENSION:
        return 0.004 if age < 35 else 0.10 if age < 45 else 0.20 if age < 55 else 0.30 if age < 65 else \
            0.40 if age < 75 else 0.46
    if disease == DIABETES:
        return 0.002 if age < 35 else 0.03 if age < 45 else 0.06 if age < 55 else 0.10 if age < 65 else 0.12
    if disease == MENTAL:
        return 0.0045 if age >= 15 else 0.0
    if disease == TUBERCULOSIS:
        return 0.0006 if age >= 15 else 0.0
    return 0.01 if age >= 50 else 0.0


def chronic_dirt() -> tuple[Rejectable, ...]:
    """How chronic-disease rows get spoiled."""
    return (bad_check_digit(_ID), missing("missing_id", _ID),
            unknown_code("unknown_status", _STATUS, ("待核实", "X", "9")),
            invalid_date("invalid_diagnosis_date", CHRONIC_DISEASES.index("确诊日期"), "YYYY/MM/DD"))


class ChronicDiseases(DepartmentRows):
    """Writes the chronic-disease rows of a household's members and marks the patients under management."""

    def household(self, lives: list[Life]) -> None:
        """Queue the rows of every member managed for a disease (one row per disease)."""
        for position, life in enumerate(lives, 1):
            # The health record number: the village code and a 5-digit serial (household and member).
            record = f"{life.household.number}{position}"
            for disease in (HYPERTENSION, DIABETES, MENTAL, TUBERCULOSIS, OTHER):
                if self.rng.random() < odds(disease, life.age):
                    self._row(life, record, disease)

    def _row(self, life: Life, record: str, disease: str) -> None:
        rng = self.rng
        diagnosed = self._diagnosed(life, disease)
        status, follow_up, updated = self._course(life, disease, diagnosed)
        if status == UNDER_MANAGEMENT and life.died is None:
            life.chronic = True
        self.truths[f"chronic_{_TRUTH_NAMES[disease]}"] += 1
        clinic = f"{life.household.village_name}村卫生室"
        if disease in (MENTAL, TUBERCULOSIS) or rng.random() < 0.3:
            clinic = HEALTH_CENTRE
        self.sink.add([record, life.resident.gmsfhm, life.resident.name, disease, f"{diagnosed:{DATE_FORMAT}}",
                       clinic, f"{follow_up:{DATE_FORMAT}}", status, updated],
                      protected=life.protected, stale=_stale_copy(diagnosed, follow_up))

    def _diagnosed(self, life: Life, disease: str) -> date:
        as_of = self.clock.as_of
        if disease in (HYPERTENSION, DIABETES, OTHER):
            first = max(birthday(life.resident.birth, 30), as_of - timedelta(days=15 * 365))
        elif disease == MENTAL:
            first = max(birthday(life.resident.birth, 15), as_of - timedelta(days=20 * 365))
        else:
            first = max(birthday(life.resident.birth, 15), as_of - timedelta(days=730))
        last = (life.died or self.clock.last_day) - timedelta(days=20)
        first = min(first, last)
        return date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))

    def _course(self, life: Life, disease: str, diagnosed: date) -> tuple[str, date, str]:
        """Management status, last follow-up and update time."""
        rng = self.rng
        until = life.died or self.clock.last_day
        draw = rng.random()
        if life.died is not None and life.death_registered and draw < 0.6:
            status = ENDED
        elif life.died is None and life.left is not None:
            status = ENDED if draw < 0.5 else LOST
        elif disease == TUBERCULOSIS and (until - diagnosed).days > 240:
            status = ENDED if draw < 0.85 else UNDER_MANAGEMENT  # cured
        elif life.died is not None:
            status = UNDER_MANAGEMENT  # nobody told the clinic yet
        else:
            status = UNDER_MANAGEMENT if draw < 0.9 else LOST if draw < 0.98 else ENDED
        days_back = rng.randint(180, 720) if status == LOST else rng.randint(1, 90)
        follow_up = max(until - timedelta(days=days_back), diagnosed)
        closed = life.died if status == ENDED and life.died is not None else follow_up
        return status, follow_up, stamp(self.clock.soon_after(rng, closed, 20))


def _stale_copy(diagnosed: date, follow_up: date) -> StaleCopy:
    """The row as of an earlier follow-up (one to four months before), still under management."""
    def stale(rng: random.Random, row: Row) -> Row:
        days = rng.randint(30, 120)
        copy = list(row)
        copy[_FOLLOW_UP] = f"{max(diagnosed, follow_up - timedelta(days=days)):{DATE_FORMAT}}"
        copy[_STATUS] = UNDER_MANAGEMENT
        copy[_UPDATED] = earlier(row[_UPDATED], days * 86400)
        return copy
    return stale
