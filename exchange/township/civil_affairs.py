"""Civil affairs' assistance export: the policy's records as rows, with where each beneficiary lives.

居住地址 is where civil affairs found the beneficiary living: mostly the registered address, for about
8% somewhere else in the township (an address conflict between departments), and empty for about 7%
(not recorded). One person has one address across their records.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, time, timedelta

from exchange.township.assistance import ELDERLY, ENDED, RECEIVING, SUSPENDED, Assistance, AssistancePolicy
from exchange.township.dates import stamp
from exchange.township.dirt import Rejectable, Row, StaleCopy, bad_check_digit, replaced, unknown_code
from exchange.township.layouts import ASSISTANCE
from exchange.township.lives import Life
from exchange.township.sinks import Sink
from exchange.township.villages import AddressBook

_UNKNOWN_PROGRAMMES = ("临时救助", "医疗救助", "残疾人两项补贴")
_BAD_AMOUNTS = ("六百", "600元", "伍拾", "N/A")

_ID, _PROGRAMME, _STATUS = ASSISTANCE.index("身份证号"), ASSISTANCE.index("救助类别"), ASSISTANCE.index("状态")
_END, _AMOUNT, _UPDATED = ASSISTANCE.index("结束日期"), ASSISTANCE.index("月发放金额"), ASSISTANCE.index("更新时间")


def assistance_dirt() -> tuple[Rejectable, ...]:
    """How assistance rows get spoiled (the kinds are those of the first generator version)."""
    return (bad_check_digit(_ID), unknown_code("unknown_programme", _PROGRAMME, _UNKNOWN_PROGRAMMES),
            replaced("malformed_amount", "invalid_amount", _AMOUNT, _BAD_AMOUNTS))


def _amount(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class AssistanceExport:
    """Writes a household's assistance rows; tells which residents get a receiving elderly allowance."""

    def __init__(self, policy: AssistancePolicy, rng: random.Random, addresses: AddressBook, sink: Sink,
                 truths: Counter[str]) -> None:
        self.policy = policy
        self.rng = rng
        self.addresses = addresses
        self.sink = sink
        self.truths = truths
        self._next_record = 1

    def household(self, lives: list[Life]) -> tuple[list[Assistance], set[str]]:
        """Queue the rows; return the records and the IDs with a receiving 高龄津贴 row that survives validation."""
        records = self.policy.for_household(lives)
        receiving = set()
        living: dict[str, str] = {}
        for record in records:
            life = record.life
            person = life.resident
            if person.gmsfhm not in living:
                living[person.gmsfhm] = self._where(life)
            row: Row = [
                f"MZ{record.start.year}{self._next_record:06d}", person.gmsfhm, person.name, record.programme,
                record.status, record.start.isoformat(), record.end.isoformat() if record.end else "",
                _amount(record.amount_fen), stamp(record.updated), living[person.gmsfhm],
            ]
            self._next_record += 1
            valid = self.sink.add_valid(row, protected=life.protected, stale=_stale_copy(record))
            # Stale copies are older, so the row above is the one that wins; rejected rows count for nothing.
            if record.programme == ELDERLY and record.status == RECEIVING and valid:
                receiving.add(person.gmsfhm)
            if row[-1] == "":
                self.truths["assistance_address_unknown"] += 1
            elif row[-1] != life.household.address:
                self.truths["assistance_address_conflicts"] += 1
            if life.died is not None:
                self.truths["assistance_ended_after_death" if record.status == ENDED
                            else "assistance_open_after_death"] += 1
        return records, receiving

    def _where(self, life: Life) -> str:
        """Where civil affairs says the person lives (boundary residents: at the registered address)."""
        address = life.household.address
        if life.protected:
            return address
        draw = self.rng.random()
        if draw < 0.08:
            return self.addresses.elsewhere(self.rng, address)
        return "" if draw < 0.15 else address


def _stale_copy(record: Assistance) -> StaleCopy:
    """An older version of the record: up to 120 days earlier, not before its start, other status."""
    def stale(rng: random.Random, row: Row) -> Row:
        since_start = record.updated - datetime.combine(record.start, time())
        window = max(1, min(int(since_start.total_seconds()), 120 * 86400))
        older = record.updated - timedelta(seconds=rng.randint(1, window))
        copy = list(row)
        if record.status == RECEIVING:
            copy[_STATUS] = rng.choice((SUSPENDED, ENDED))
        else:
            # The interesting case: an old "receiving" row must not resurrect an ended or suspended record.
            copy[_STATUS] = RECEIVING
        copy[_END] = older.date().isoformat() if copy[_STATUS] == ENDED else ""
        copy[_UPDATED] = stamp(older)
        return copy
    return stale
