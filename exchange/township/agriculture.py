"""Households under poverty-return monitoring (防返贫监测) of agriculture and rural affairs, as XLSX.

About 3% of households are monitored, far more of those on subsistence allowance or extreme-poverty
support, or with a chronically ill or disabled member. The risk types follow the household: 因病 when a
member is under chronic-disease management, 因残 when one holds a valid disability certificate, 因学
when children are in senior school or university or three are at school, 缺劳动力 when nobody is of
working age; the others (accident, disaster, failed business, unstable work) are drawn. The most
important comes first.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from exchange.township.assistance import EXTREME_POVERTY, RECEIVING, SUBSISTENCE, Assistance
from exchange.township.dates import earlier, stamp
from exchange.township.department_base import DepartmentRows
from exchange.township.dirt import Rejectable, Row, bad_check_digit, invalid_date, missing, replaced, unknown_code
from exchange.township.education import HIGHER, SENIOR, VOCATIONAL
from exchange.township.layouts import MONITORING
from exchange.township.lives import Life

UNSTABLE, MARGINAL, SUDDEN = "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"
MONITORING_STATUS, ELIMINATED, STOPPED = "监测中", "风险已消除", "终止监测"
ILLNESS, DISABILITY, EDUCATION, NO_LABOUR = "因病", "因残", "因学", "缺劳动力"
ACCIDENT, DISASTER, INDUSTRY, EMPLOYMENT = "因意外事故", "因自然灾害", "因产业经营失败", "因务工就业不稳"
DISASTER_SHORT = "因灾"  # the short form many county offices type
MECHANISM_START = date(2021, 1, 1)  # monitoring as it works today began after the 2020 poverty target

_HEAD_ID, _NUMBER = MONITORING.index("户主身份证号"), MONITORING.index("户编号")
_STATUS, _UPDATED = MONITORING.index("监测状态"), MONITORING.index("更新时间")


def monitoring_dirt() -> tuple[Rejectable, ...]:
    """How monitoring rows get spoiled; a malformed income needs a row that has one."""
    return (bad_check_digit(_HEAD_ID), missing("missing_household_number", _NUMBER),
            unknown_code("unknown_status", _STATUS, ("观察中", "待评估", "9")),
            invalid_date("invalid_identified_date", MONITORING.index("识别日期"), "YYYY-MM-DD"),
            replaced("malformed_income", "invalid_amount", MONITORING.index("家庭人均纯收入"),
                     ("八千", "约8000元", "不详"), only_if_set=True))


def risks_of(lives: list[Life]) -> list[str]:
    """The risk types a household's members make plain, most important first."""
    present = [life for life in lives if life.present]
    risks = []
    if any(life.chronic for life in present):
        risks.append(ILLNESS)
    if any(life.certified for life in present):
        risks.append(DISABILITY)
    stages = [life.stage for life in present if life.stage is not None]
    if any(stage in (SENIOR, VOCATIONAL, HIGHER) for stage in stages) or len(stages) >= 3:
        risks.append(EDUCATION)
    if not any(16 <= life.age < 65 for life in present):
        risks.append(NO_LABOUR)
    return risks


class Monitoring(DepartmentRows):
    """Writes a household's monitoring row, if it is monitored; run after every other department."""

    def household(self, lives: list[Life], assistance: list[Assistance]) -> None:
        """Maybe queue the household's row."""
        rng = self.rng
        if not any(life.present for life in lives):
            return
        supported = {record.programme for record in assistance if record.status == RECEIVING}
        risks = risks_of(lives)
        odds = 0.3 if SUBSISTENCE in supported else 0.2 if EXTREME_POVERTY in supported else 0.01
        odds += 0.006 * len(risks)
        if rng.random() >= odds:
            return
        drawn = rng.choice((ACCIDENT, DISASTER, INDUSTRY, EMPLOYMENT))
        if not risks or rng.random() < 0.25:
            risks.append(drawn)
        if risks[0] in (ACCIDENT, DISASTER) or (drawn == risks[0] and rng.random() < 0.3):
            category = SUDDEN
        else:
            category = UNSTABLE if rng.random() < 0.5 else MARGINAL
        self._row(lives[0], category, risks)

    def _row(self, head: Life, category: str, risks: list[str]) -> None:
        rng = self.rng
        last_day = self.clock.last_day
        identified = date.fromordinal(rng.randint(MECHANISM_START.toordinal(), (last_day - timedelta(30)).toordinal()))
        draw = rng.random()
        if draw < 0.05:
            status, income = STOPPED, rng.uniform(6000, 12000)
        elif draw < 0.45 and (last_day - identified).days > 365:
            status, income = ELIMINATED, rng.uniform(8000, 16000)
        else:
            status, income = MONITORING_STATUS, rng.uniform(4000, 9000)
        recent = status == MONITORING_STATUS
        first_visit = max(identified, last_day - timedelta(days=60 if recent else 365))
        visited = date.fromordinal(rng.randint(first_visit.toordinal(), last_day.toordinal()))
        written = [DISASTER_SHORT if risk == DISASTER and rng.random() < 0.3 else risk for risk in risks]
        self.truths["monitored_households"] += 1

        def stale(rng: random.Random, row: Row) -> Row:
            copy = list(row)
            copy[_STATUS] = MONITORING_STATUS if row[_STATUS] != MONITORING_STATUS else ELIMINATED
            copy[_UPDATED] = earlier(row[_UPDATED], rng.randint(86400, 120 * 86400))
            return copy

        self.sink.add([
            head.household.number, head.resident.gmsfhm, head.resident.name, category, "、".join(written),
            identified, status, round(income, 2) if rng.random() < 0.95 else None, visited,
            stamp(self.clock.soon_after(rng, visited, 7)),
        ], protected=head.protected, stale=stale)

