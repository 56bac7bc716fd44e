"""School enrolments (学籍) of the education bureau, exported as CSV (UTF-8 with BOM).

Every resident aged 3 to 18 has an enrolment for the current school year, in the stage and grade of
their age on 31 August before it began (the admission cut-off): kindergarten from 3, primary school
from 6, junior secondary from 12, senior or vocational secondary from 15, and at 18 either a first year
at university or last year's graduation. Village children start at the village kindergarten and
primary school and go on to the township's and county's schools. A few pupils have suspended their
studies or dropped out; those who moved away are transferred out (转出).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from exchange.identity import age_on
from exchange.township import names
from exchange.township.dates import OfficeClock, earlier, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, Row, missing, spoil_check_digit, unknown_code
from exchange.township.layouts import ENROLMENTS
from exchange.township.lives import Life
from exchange.township.sinks import Sink

PRESCHOOL, PRIMARY, JUNIOR, SENIOR, VOCATIONAL, HIGHER = "学前", "小学", "初中", "高中", "中职", "高等"
ENROLLED, SUSPENDED, DROPPED_OUT, GRADUATED, TRANSFERRED = "在读", "休学", "辍学", "毕业", "转出"
FIRST_AGE = {PRESCHOOL: 3, PRIMARY: 6, JUNIOR: 12, SENIOR: 15, VOCATIONAL: 15, HIGHER: 18}


@dataclass(frozen=True, slots=True)
class School:
    """A school with its 10-digit school identification code (学校标识码)."""

    name: str
    code: str


def _county_school(serial: int, name: str) -> School:
    return School(name, f"2{names.COUNTY_CODE}{serial:03d}")


CENTRAL_KINDERGARTEN = _county_school(1, f"{names.TOWNSHIP}中心幼儿园")
CENTRAL_PRIMARY = _county_school(2, f"{names.TOWNSHIP}中心小学")
TOWNSHIP_JUNIOR = _county_school(3, f"{names.TOWNSHIP}中学")
COUNTY_NO1 = _county_school(4, f"{names.COUNTY}第一中学")
COUNTY_NO2 = _county_school(5, f"{names.COUNTY}第二中学")
COUNTY_VOCATIONAL = _county_school(6, f"{names.COUNTY}职业高级中学")
UNIVERSITIES = (School("云南大学", "4153010673"), School("昆明理工大学", "4153010674"),
                School("云南师范大学", "4153010681"), School("云南农业大学", "4153010676"),
                School("昆明学院", "4153011393"))

_ID, _NUMBER, _GRADE = ENROLMENTS.index("身份证号"), ENROLMENTS.index("全国学籍号"), ENROLMENTS.index("年级")
_STATUS, _UPDATED = ENROLMENTS.index("学籍状态"), ENROLMENTS.index("更新时间")


def school_year_start(as_of: date) -> date:
    """1 September of the school year under way on ``as_of``."""
    return date(as_of.year if as_of.month >= 9 else as_of.year - 1, 9, 1)


def stage_and_grade(birth: date, year_start: date) -> tuple[str, int]:
    """The stage and grade of a child in the school year starting on ``year_start`` (senior: 高中 or 中职)."""
    age = age_on(birth, year_start - timedelta(days=1))  # on 31 August, the admission cut-off
    if age < 6:
        return PRESCHOOL, max(1, age - 2)
    if age < 12:
        return PRIMARY, age - 5
    if age < 15:
        return JUNIOR, age - 11
    if age < 18:
        return SENIOR, age - 14
    return HIGHER, 1


def enrolments_dirt() -> tuple[Rejectable, ...]:
    """How enrolment rows get spoiled; a bad ID number is bad in the student number too."""
    def bad_id(rng: random.Random, row: Row) -> bool:
        row[_ID] = spoil_check_digit(rng, row[_ID])
        row[_NUMBER] = "G" + row[_ID]
        return True

    def grade_out_of_range(rng: random.Random, row: Row) -> bool:
        row[_GRADE] = rng.choice(("0", "10", "12", "13"))
        return True

    return (Rejectable("bad_check_digit", "invalid_resident_id", bad_id), missing("missing_id", _ID),
            unknown_code("unknown_status", _STATUS, ("待核实", "9", "X")),
            Rejectable("invalid_grade", "invalid_grade", grade_out_of_range))


class Enrolments(DepartmentRows):
    """Writes the enrolments of a household's children and notes each one's stage."""

    def __init__(self, rng: random.Random, clock: OfficeClock, sink: Sink, truths: Counter[str]) -> None:
        super().__init__(rng, clock, sink, truths)
        self.year_start = school_year_start(clock.as_of)

    def household(self, lives: list[Life]) -> None:
        """Queue an enrolment for every member aged 3 to 18 (a death the registry has not heard of, the school
        has not either)."""
        for life in lives:
            if not life.death_registered and 3 <= age_on(life.resident.birth, self.clock.as_of) <= 18:
                self._pupil(life)

    def _pupil(self, life: Life) -> None:
        rng = self.rng
        stage, grade = stage_and_grade(life.resident.birth, self.year_start)
        year = self.year_start.year
        if stage == SENIOR and rng.random() < 0.35:
            stage = VOCATIONAL
        if stage == HIGHER and rng.random() < 0.45:  # finished school last summer and went no further
            stage, grade, year = (SENIOR if rng.random() < 0.65 else VOCATIONAL), 3, year - 1
            status, updated = GRADUATED, self.clock.soon_after(rng, date(year + 1, 6, 25), 20)
        else:
            status, updated = self._status(life, stage)
        school = self._school(life, stage, grade)
        boarding = rng.random() < {PRESCHOOL: 0.0, PRIMARY: 0.1 if grade >= 4 else 0.0, JUNIOR: 0.6}.get(stage, 0.9)
        life.stage = stage if status == ENROLLED else None
        self.truths["pupils_enrolled" if status == ENROLLED else "pupils_not_enrolled"] += 1

        def stale(rng: random.Random, row: Row) -> Row:
            copy = list(row)
            copy[_STATUS] = SUSPENDED if row[_STATUS] == ENROLLED else ENROLLED
            copy[_UPDATED] = earlier(row[_UPDATED], rng.randint(86400, 90 * 86400))
            return copy

        person = life.resident
        self.sink.add([f"G{person.gmsfhm}", person.gmsfhm, person.name, school.name, school.code, stage, str(grade),
                       status, f"{year}-{year + 1}", "是" if boarding else "否", stamp(updated)],
                      protected=life.protected, stale=stale)

    def _status(self, life: Life, stage: str) -> tuple[str, datetime]:
        rng = self.rng
        start = self.year_start
        if life.left is not None:
            return TRANSFERRED, self.clock.soon_after(rng, life.left, 20)
        draw = rng.random()
        if draw < 0.005:
            return SUSPENDED, self.clock.between(rng, start + timedelta(days=30), self.clock.last_day)
        if draw < 0.009 and stage in (JUNIOR, SENIOR, VOCATIONAL):
            return DROPPED_OUT, self.clock.between(rng, start + timedelta(days=30), self.clock.last_day)
        if rng.random() < 0.85:
            return ENROLLED, self.clock.soon_after(rng, start, 30)  # the start-of-year registration
        return ENROLLED, self.clock.between(rng, start, self.clock.last_day)

    def _school(self, life: Life, stage: str, grade: int) -> School:
        rng = self.rng
        village = life.household.village_name
        serial = int(life.household.village_code[-3:]) - names.FIRST_VILLAGE_SERIAL + 1
        if stage == PRESCHOOL:
            local = rng.random() < 0.7
            return _county_school(300 + serial, f"{village}幼儿园") if local else CENTRAL_KINDERGARTEN
        if stage == PRIMARY:
            local = rng.random() < (0.8 if grade <= 3 else 0.4)
            return _county_school(100 + serial, f"{village}小学") if local else CENTRAL_PRIMARY
        if stage == JUNIOR:
            return TOWNSHIP_JUNIOR if rng.random() < 0.85 else COUNTY_NO2
        if stage == SENIOR:
            return COUNTY_NO1 if rng.random() < 0.6 else COUNTY_NO2
        if stage == VOCATIONAL:
            return COUNTY_VOCATIONAL
        return rng.choice(UNIVERSITIES)
