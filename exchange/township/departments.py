"""The county's departments at work on one household after another, each from its own random stream.

A household goes through the register first (its update times anchor every later date), then the
lives of its members (who died, who left and when), then each department in the order their facts
depend on each other: certificates and chronic diseases before family doctors, everything before
poverty-return monitoring.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date

from exchange.identity import age_on
from exchange.township import layouts
from exchange.township.agriculture import Monitoring
from exchange.township.assistance import AssistancePolicy
from exchange.township.chronic import ChronicDiseases
from exchange.township.civil_affairs import AssistanceExport
from exchange.township.dates import OfficeClock
from exchange.township.deaths import Deaths
from exchange.township.disability import Certificates
from exchange.township.doctors import FamilyDoctors
from exchange.township.education import Enrolments
from exchange.township.exports import Exports
from exchange.township.lives import LifeCourse
from exchange.township.pensions import Pensions
from exchange.township.people import ACTIVE, Household
from exchange.township.register import Register
from exchange.township.villages import AddressBook, BuiltVillage, VillagePlan


class Departments:
    """Generates every department's rows for a village; keeps the ground-truth tallies."""

    def __init__(self, stream: Callable[[str], random.Random], as_of: date, exports: Exports,
                 plans: list[VillagePlan]) -> None:
        self.as_of = as_of
        self.exports = exports
        self.truths: Counter[str] = Counter()
        self.boundary: dict[str, str] = {}
        self.elderly_review = 0
        clock = OfficeClock(as_of)
        sinks = exports.sinks
        truths = self.truths
        self.register = Register(stream("clock"), stream("register"), clock, sinks[layouts.HJXX_CZRK.source],
                                 sinks[layouts.HJXX_HXX.source], sinks[layouts.HJXX_HCYBD.source], truths)
        self.lives = LifeCourse(stream("lives"), as_of)
        self.deaths = Deaths(stream("deaths"), clock, sinks[layouts.HJXX_SWZX.source], sinks[layouts.FUNERALS.source],
                             truths)
        self.assistance = AssistanceExport(AssistancePolicy(stream("assistance"), as_of), stream("addresses"),
                                           AddressBook(plans), sinks[layouts.ASSISTANCE.source], truths)
        self.pensions = Pensions(stream("pensions"), clock, sinks[layouts.YL_CBXX.source], truths)
        self.certificates = Certificates(stream("disability"), clock, sinks[layouts.CERTIFICATES.source], truths)
        self.chronic = ChronicDiseases(stream("chronic"), clock, sinks[layouts.CHRONIC_DISEASES.source], truths)
        self.doctors = FamilyDoctors(stream("doctors"), clock, sinks[layouts.FAMILY_DOCTORS.source], truths)
        self.enrolments = Enrolments(stream("education"), clock, sinks[layouts.ENROLMENTS.source], truths)
        self.monitoring = Monitoring(stream("agriculture"), clock, sinks[layouts.MONITORING.source], truths)

    def village(self, village: BuiltVillage) -> None:
        """Generate and write the rows of every household of ``village``."""
        for household in village.households:
            self._household(household)
        self.exports.flush()

    def _household(self, household: Household) -> None:
        registered, clean = self.register.residents(household)
        lives = self.lives.for_household(household, registered, clean)
        self.register.household(household, lives)
        dead_to_civil_affairs = self.deaths.record(lives)
        records, receiving = self.assistance.household(lives)
        self.pensions.household(lives)
        self.certificates.household(lives)
        self.chronic.household(lives)
        self.doctors.household(lives)
        self.enrolments.household(lives)
        self.monitoring.household(lives, records)
        for life in lives:
            person = life.resident
            if person.boundary is not None:
                self.boundary[person.boundary] = person.gmsfhm
            if (person.status == ACTIVE and person.gmsfhm in clean and person.gmsfhm not in receiving
                    and person.gmsfhm not in dead_to_civil_affairs and age_on(person.birth, self.as_of) >= 80):
                self.elderly_review += 1
