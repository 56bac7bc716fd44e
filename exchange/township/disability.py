"""Disability certificates (残疾人证, second generation) of the disabled persons' federation.

About 6% of residents hold one, from about 1.4% of children to about 19% of those over 80, with the
category mix of China's disability survey (hearing and physical impairments most common among the old,
intellectual among children). The certificate number is the holder's ID number, the category digit and
the grade digit. Certificates run ten years; most are renewed (same number), some have lapsed (过期).
About one holder in eight was re-assessed to another grade: the old certificate is cancelled (注销) and
superseded by the new one. About two in three certificates of registered deaths have been cancelled.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from exchange.identity import check_digit
from exchange.township.dates import birthday, earlier, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, Row, invalid_date, missing, spoil_check_digit, unknown_code
from exchange.township.layouts import CERTIFICATES
from exchange.township.lives import Life

CATEGORIES = ("1", "2", "3", "4", "5", "6", "7")  # 视力 听力 言语 肢体 智力 精神 多重 (GB/T 26341-2010)
GRADES = ("1", "2", "3", "4")  # 一级 (most severe) … 四级
VALID, CANCELLED, EXPIRED = "有效", "注销", "过期"
SECOND_GENERATION = date(2008, 7, 1)  # second-generation certificates were issued from then on

_CATEGORY_WEIGHTS_CHILD = (5, 10, 10, 25, 30, 5, 15)
_CATEGORY_WEIGHTS_ADULT = (13, 17, 2, 35, 7, 10, 16)
_CATEGORY_WEIGHTS_OLD = (18, 30, 3, 30, 2, 2, 15)
_GRADE_WEIGHTS = (12, 20, 30, 38)

_NUMBER, _ID, _CATEGORY, _GRADE = (CERTIFICATES.index(c) for c in ("残疾人证号", "身份证号", "残疾类别", "残疾等级"))
_ISSUED, _STATUS, _UPDATED = (CERTIFICATES.index(c) for c in ("发证日期", "证件状态", "更新时间"))


def prevalence(age: int) -> float:
    """Share of residents of an age who hold a certificate."""
    return 0.014 if age < 15 else 0.035 if age < 45 else 0.065 if age < 60 else 0.115 if age < 80 else 0.19


def certificates_dirt() -> tuple[Rejectable, ...]:
    """How certificate rows get spoiled; a bad ID number is bad in the certificate number too, so the ID
    is the only thing wrong."""
    def bad_id(rng: random.Random, row: Row) -> bool:
        row[_ID] = spoil_check_digit(rng, row[_ID])
        row[_NUMBER] = row[_ID] + row[_NUMBER][18:]
        return True

    def inconsistent(rng: random.Random, row: Row) -> bool:
        number = row[_NUMBER]
        way = rng.randrange(3)
        if way == 0:  # the grade digit of an earlier assessment
            row[_NUMBER] = number[:19] + rng.choice([g for g in GRADES if g != number[19]])
        elif way == 1:  # another category digit
            row[_NUMBER] = number[:18] + rng.choice([c for c in CATEGORIES if c != number[18]]) + number[19]
        else:  # someone else's (valid) ID number: another sequence code
            first17 = number[:14] + f"{(int(number[14:17]) + rng.randint(1, 998)) % 1000:03d}"
            row[_NUMBER] = first17 + check_digit(first17) + number[18:]
        return True

    return (Rejectable("bad_check_digit", "invalid_resident_id", bad_id),
            Rejectable("inconsistent_certificate", "inconsistent_certificate", inconsistent),
            missing("missing_status", _STATUS),
            unknown_code("unknown_status", _STATUS, ("挂失", "待审核", "停用")),
            invalid_date("invalid_issue_date", _ISSUED, "YYYY-MM-DD"))


class Certificates(DepartmentRows):
    """Writes the certificate rows of a household's members and marks the holders of a valid one."""

    def household(self, lives: list[Life]) -> None:
        """Queue the rows of the members who hold or held a certificate."""
        for life in lives:
            if self.rng.random() < prevalence(life.age):
                self._holder(life)

    def _holder(self, life: Life) -> None:
        rng = self.rng
        age = life.age
        weights = _CATEGORY_WEIGHTS_CHILD if age < 15 else _CATEGORY_WEIGHTS_ADULT if age < 60 else \
            _CATEGORY_WEIGHTS_OLD
        category = rng.choices(CATEGORIES, weights)[0]
        grade = rng.choices(GRADES, _GRADE_WEIGHTS)[0]
        until = (life.died or self.clock.last_day) - timedelta(days=30)
        first = max(birthday(life.resident.birth, 1), SECOND_GENERATION)
        if first >= until:
            return
        issued = date.fromordinal(rng.randint(first.toordinal(), until.toordinal()))
        if rng.random() < 0.12 and (until - issued).days > 400:
            earlier = GRADES[GRADES.index(grade) + 1] if grade != GRADES[-1] else GRADES[-2]
            reassessed = issued + timedelta(days=rng.randint(365, (until - issued).days))
            self._add(life, category, earlier, issued, reassessed)
            self.truths["disability_certificates_superseded"] += 1
            issued = reassessed
        self._add(life, category, grade, issued, None)

    def _add(self, life: Life, category: str, grade: str, issued: date, superseded: date | None) -> None:
        rng = self.rng
        expires = birthday(issued, 10) - timedelta(days=1)
        while expires < self.clock.as_of and superseded is None and rng.random() < 0.75:
            issued = expires + timedelta(days=1)  # renewed: same number, new dates
            expires = birthday(issued, 10) - timedelta(days=1)
        cancelled = superseded
        if cancelled is None and life.death_registered and life.died is not None and rng.random() < 0.65:
            cancelled = life.died + timedelta(days=rng.randint(5, 60))
        if cancelled is not None:
            status, updated = CANCELLED, self.clock.soon_after(rng, cancelled, 10)
        else:
            status = VALID if expires >= self.clock.as_of else EXPIRED
            updated = self.clock.soon_after(rng, issued, 10)
        if status == VALID and life.died is None:
            life.certified = True
            self.truths["disability_certificate_holders"] += 1
        number = life.resident.gmsfhm + category + grade
        self.sink.add([number, life.resident.gmsfhm, life.resident.name, category, grade, issued, expires, status,
                       stamp(updated)], protected=life.protected, stale=_stale_copy)


def _stale_copy(rng: random.Random, row: Row) -> Row | None:
    """The row as it was before its last change: valid before the cancellation or lapse, lapsed before the
    renewal; up to 90 days older."""
    copy = list(row)
    copy[_STATUS] = EXPIRED if row[_STATUS] == VALID else VALID
    copy[_UPDATED] = earlier(row[_UPDATED], rng.randint(1, 90 * 86400))
    return copy
