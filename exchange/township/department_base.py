"""What every department's row writer starts from: its random stream, the office clock, the sink of its
source and the run's cross-department truths."""

from __future__ import annotations

import random
from collections import Counter

from exchange.township.dates import OfficeClock
from exchange.township.sinks import Sink


class DepartmentRows:
    """Writes one department's rows, household by household, into ``sink``; counts what it knows in ``truths``.

    Subclasses add ``household(lives, ...)``, which queues a household's rows; its arguments differ by what a
    department needs to know of the others (monitoring needs the household's assistance records).
    """

    def __init__(self, rng: random.Random, clock: OfficeClock, sink: Sink, truths: Counter[str]) -> None:
        self.rng = rng
        self.clock = clock
        self.sink = sink
        self.truths = truths
