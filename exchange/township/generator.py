"""``generate_township``: one village at a time, from ground truth to every department's export."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from exchange.errors import ConfigError
from exchange.township import names
from exchange.township.dates import years_before
from exchange.township.departments import Departments
from exchange.township.exports import Exports
from exchange.township.layouts import LAYOUTS
from exchange.township.manifest import (
    BOUNDARY_LABELS,
    MANIFEST_FILE,
    TURNED_80_YESTERDAY,
    TURNS_80_ON_AS_OF,
    TURNS_80_TOMORROW,
    CrossDepartmentTruths,
    Grid,
    TownshipManifest,
    Village,
)
from exchange.township.people import HouseholdComposer, IdAllocator
from exchange.township.villages import ForcedHead, build_village, plan_villages

MAX_RESIDENTS = 5_000_000  # 199 villages of at most 9,999 households
# The oldest residents are about 105, and no ID number may carry a birth year before 1880.
EARLIEST_AS_OF = date(1990, 1, 1)
BOUNDARY_MINIMUM = 50  # below this a township is too small to spare three 80-year-olds


def generate_township(
    out_dir: Path,
    residents: int,
    seed: int = 7,
    as_of: date | None = None,
    dirty_rate: float = 0.02,
) -> TownshipManifest:
    """Generate a synthetic township into ``out_dir`` and return (and write) its manifest.

    Writes every department export of ``adapters/README.md`` (``public_security.db``, ``human_resources.db``
    and the drop folders: see ``TownshipManifest.files``) and ``township.json`` (last, so its presence
    means the run finished). The same arguments give byte-identical files: all randomness comes from
    ``random.Random`` streams seeded from ``seed``. Ages are relative to ``as_of`` (default today).
    Memory stays bounded by one village, whatever ``residents`` is.

    Raises ConfigError for fewer than 1 or more than 5,000,000 residents, ``dirty_rate`` outside [0, 0.5],
    or ``as_of`` before 1990.
    """
    if not 1 <= residents <= MAX_RESIDENTS:
        raise ConfigError(f"residents must be between 1 and {MAX_RESIDENTS:,}, got {residents}")
    if not 0.0 <= dirty_rate <= 0.5:
        raise ConfigError(f"dirty_rate must be between 0 and 0.5, got {dirty_rate}")
    as_of = as_of or date.today()
    if as_of < EARLIEST_AS_OF:
        raise ConfigError(f"as_of must be {EARLIEST_AS_OF} or later, got {as_of}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # An old manifest would vouch for files this run is about to replace.
    (out_dir / MANIFEST_FILE).unlink(missing_ok=True)
    # The assistance export of format 1 lived here; civil affairs' exports now have a folder each.
    (out_dir / "civil_affairs" / "assistance.csv").unlink(missing_ok=True)

    run = _Run(seed, as_of)
    plans = plan_villages(run.stream("layout"), residents)
    forced = _boundary_heads(as_of) if residents >= BOUNDARY_MINIMUM else []
    villages = []
    with Exports(out_dir, as_of, dirty_rate, run.dirt_stream) as exports:
        departments = Departments(run.stream, as_of, exports, plans)
        for index, plan in enumerate(plans):
            built = build_village(run.composer, plan, forced if index == 0 else None)
            departments.village(built)
            villages.append(Village(
                code=plan.code, name=plan.name, households=len(built.households), residents=plan.residents,
                grids=[Grid(code=code, name=name) for code, name in built.grids]))

    manifest = _manifest(seed, as_of, dirty_rate, residents, villages, exports, departments)
    manifest.write(out_dir)
    return manifest


def _manifest(seed: int, as_of: date, dirty_rate: float, residents: int, villages: list[Village],
              exports: Exports, departments: Departments) -> TownshipManifest:
    """The manifest of a finished run: what was written, the dirt in it, and the truths behind it."""
    sinks = exports.sinks
    return TownshipManifest(
        seed=seed,
        as_of=as_of,
        dirty_rate=dirty_rate,
        county_code=names.COUNTY_CODE,
        township_code=names.TOWNSHIP_CODE,
        township_name=names.TOWNSHIP,
        residents=residents,
        households=sum(village.households for village in villages),
        villages=villages,
        files={layout.source: layout.path for layout in LAYOUTS},
        counts={source: sink.rows for source, sink in sinks.items()},
        dirty={source: dict(sink.dirt.counts) for source, sink in sinks.items()},
        expected_rejects={source: sink.dirt.rejects for source, sink in sinks.items()},
        expected_reasons={source: sink.dirt.reasons() for source, sink in sinks.items()},
        # Fixed key order, whatever order the households happened to be written in.
        boundary_residents={label: departments.boundary[label] for label in BOUNDARY_LABELS
                            if label in departments.boundary},
        expected_elderly_review=departments.elderly_review,
        cross_department=CrossDepartmentTruths(**departments.truths),
    )


def _boundary_heads(as_of: date) -> list[ForcedHead]:
    """Heads of household whose 80th birthday is as_of, as_of + 1 day and as_of - 1 day.

    (If a target day is 29 February and the year 80 before is common, nobody has that 80th birthday;
    ``years_before`` then gives 28 February, one day off. The first such as_of after 1980 is in 2180.)
    """
    targets = ((TURNS_80_ON_AS_OF, as_of, 80), (TURNS_80_TOMORROW, as_of + timedelta(days=1), 79),
               (TURNED_80_YESTERDAY, as_of - timedelta(days=1), 80))
    return [ForcedHead(years_before(day, 80), age, label) for label, day, age in targets]


class _Run:
    """The random streams of one generation, and the household composer that draws the people."""

    def __init__(self, seed: int, as_of: date) -> None:
        self.seed = seed
        self.composer = HouseholdComposer(self.stream("people"), as_of, IdAllocator(names.COUNTY_CODE))

    def stream(self, purpose: str) -> random.Random:
        """An independent stream per purpose, so e.g. a different dirty_rate leaves the people unchanged.

        A str seed is hashed with SHA-512 by ``random.Random``, stable across runs and platforms (unlike
        ``hash()``).
        """
        return random.Random(f"township:{self.seed}:{purpose}")

    def dirt_stream(self, source: str) -> random.Random:
        """The dirt stream of one source; the register's residents keep the first version's stream."""
        return self.stream("dirt" if source == "public_security" else f"dirt:{source}")
