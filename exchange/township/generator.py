"""``generate_township``: one village at a time, from ground truth to both department exports."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from exchange.errors import ConfigError
from exchange.identity import age_on
from exchange.township import names
from exchange.township.assistance import ELDERLY, RECEIVING, Assistance, AssistancePolicy
from exchange.township.dates import OfficeClock, stamp, years_before
from exchange.township.dirt import CIVIL_AFFAIRS_REJECTED, PUBLIC_SECURITY_KINDS, DirtInjector
from exchange.township.manifest import (
    BOUNDARY_LABELS,
    MANIFEST_FILE,
    TURNED_80_YESTERDAY,
    TURNS_80_ON_AS_OF,
    TURNS_80_TOMORROW,
    Grid,
    TownshipManifest,
    Village,
)
from exchange.township.people import ACTIVE, Household, HouseholdComposer, IdAllocator
from exchange.township.villages import BuiltVillage, ForcedHead, build_village, plan_villages
from exchange.township.writers import (
    CIVIL_AFFAIRS_FILE,
    PUBLIC_SECURITY_FILE,
    AssistanceWriter,
    PublicSecurityWriter,
)

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

    Writes ``public_security.db``, ``civil_affairs/assistance.csv`` and ``township.json`` (last, so its
    presence means the run finished). The same arguments give byte-identical files: all randomness comes
    from ``random.Random`` streams seeded from ``seed``. Ages are relative to ``as_of`` (default today).
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

    run = _Run(seed, as_of, dirty_rate)
    plans = plan_villages(run.stream("layout"), residents)
    forced = _boundary_heads(as_of) if residents >= BOUNDARY_MINIMUM else []
    villages = []
    with PublicSecurityWriter(out_dir / PUBLIC_SECURITY_FILE) as ps, \
            AssistanceWriter(out_dir / CIVIL_AFFAIRS_FILE) as ca:
        for index, plan in enumerate(plans):
            built = build_village(run.composer, plan, forced if index == 0 else None)
            run.emit(built, ps, ca)
            villages.append(Village(
                code=plan.code, name=plan.name, households=len(built.households), residents=plan.residents,
                grids=[Grid(code=code, name=name) for code, name in built.grids]))

    counts = run.dirt.counts
    manifest = TownshipManifest(
        seed=seed,
        as_of=as_of,
        dirty_rate=dirty_rate,
        county_code=names.COUNTY_CODE,
        township_code=names.TOWNSHIP_CODE,
        township_name=names.TOWNSHIP,
        residents=residents,
        households=sum(village.households for village in villages),
        villages=villages,
        files={"public_security": PUBLIC_SECURITY_FILE, "civil_affairs": CIVIL_AFFAIRS_FILE},
        counts={"public_security": ps.rows, "civil_affairs": ca.rows},
        dirty=counts,
        expected_rejects={
            "public_security": sum(counts["public_security"][kind] for kind in PUBLIC_SECURITY_KINDS),
            "civil_affairs": sum(counts["civil_affairs"][kind] for kind in CIVIL_AFFAIRS_REJECTED),
        },
        # Fixed key order, whatever order the households happened to be written in.
        boundary_residents={label: run.boundary[label] for label in BOUNDARY_LABELS if label in run.boundary},
        expected_elderly_review=run.elderly_review,
    )
    manifest.write(out_dir)
    return manifest


def _boundary_heads(as_of: date) -> list[ForcedHead]:
    """Heads of household whose 80th birthday is as_of, as_of + 1 day and as_of - 1 day.

    (If a target day is 29 February and the year 80 before is common, nobody has that 80th birthday;
    ``years_before`` then gives 28 February, one day off. The first such as_of after 1980 is in 2180.)
    """
    targets = ((TURNS_80_ON_AS_OF, as_of, 80), (TURNS_80_TOMORROW, as_of + timedelta(days=1), 79),
               (TURNED_80_YESTERDAY, as_of - timedelta(days=1), 80))
    return [ForcedHead(years_before(day, 80), age, label) for label, day, age in targets]


def _amount(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class _Run:
    """The state of one generation: random streams, ID allocation, counters and ground-truth tallies."""

    def __init__(self, seed: int, as_of: date, dirty_rate: float) -> None:
        self.seed = seed
        self.as_of = as_of
        self.composer = HouseholdComposer(self.stream("people"), as_of, IdAllocator(names.COUNTY_CODE))
        self.policy = AssistancePolicy(self.stream("assistance"), as_of)
        self.dirt = DirtInjector(self.stream("dirt"), dirty_rate)
        self.clock = OfficeClock(as_of)
        self.clock_rng = self.stream("clock")
        self.next_row_id = 1
        self.next_record = 1
        self.boundary: dict[str, str] = {}
        self.elderly_review = 0

    def stream(self, purpose: str) -> random.Random:
        """An independent stream per purpose, so e.g. a different dirty_rate leaves the people unchanged.

        A str seed is hashed with SHA-512 by ``random.Random``, stable across runs and platforms (unlike
        ``hash()``).
        """
        return random.Random(f"township:{self.seed}:{purpose}")

    def emit(self, village: BuiltVillage, ps: PublicSecurityWriter, ca: AssistanceWriter) -> None:
        """Write one village's register rows and assistance rows, and tally its ground truth."""
        ps_rows: list[list[object]] = []
        ca_rows: list[list[str]] = []
        later: list[list[str]] = []  # duplicates and stale copies go after the village's own rows
        for household in village.households:
            clean = self._register_rows(household, ps_rows)
            receiving = self._assistance_rows(self.policy.for_household(household), ca_rows, later)
            for person in household.members:
                if person.boundary is not None:
                    self.boundary[person.boundary] = person.gmsfhm
                if (person.status == ACTIVE and person.gmsfhm in clean and person.gmsfhm not in receiving
                        and age_on(person.birth, self.as_of) >= 80):
                    self.elderly_review += 1
        ps.write(ps_rows)
        ca.write(ca_rows)
        ca.write(later)

    def _register_rows(self, household: Household, rows: list[list[object]]) -> set[str]:
        """Append the household's hjxx_czrk rows; return the ID numbers whose rows stayed clean."""
        rng = self.clock_rng
        # A household is registered or updated in one sitting, so its rows share a timestamp (the spouse
        # always: married and registered together), which gives readers ties on gxsj to break by id.
        household_time = stamp(self.clock.any_time(rng))
        clean = set()
        for index, person in enumerate(household.members):
            gxsj = household_time if index <= 1 or rng.random() < 0.7 else stamp(self.clock.any_time(rng))
            row: list[object] = [
                self.next_row_id, person.gmsfhm, person.name, person.sex, person.ethnicity,
                f"{person.birth:%Y%m%d}", household.number, person.relation, household.address,
                household.village_code, household.grid_code, person.status, gxsj,
            ]
            self.next_row_id += 1
            if person.boundary is not None or self.dirt.public_security(row) is None:
                clean.add(person.gmsfhm)
            rows.append(row)
        return clean

    def _assistance_rows(
        self, records: list[Assistance], rows: list[list[str]], later: list[list[str]]
    ) -> set[str]:
        """Append assistance rows; return IDs with a receiving 高龄津贴 record that survives validation."""
        receiving = set()
        for record in records:
            person = record.resident
            row = [
                f"MZ{record.start.year}{self.next_record:06d}", person.gmsfhm, person.name, record.programme,
                record.status, record.start.isoformat(), record.end.isoformat() if record.end else "",
                _amount(record.amount_fen), stamp(record.updated),
            ]
            self.next_record += 1
            kind = None
            if person.boundary is None:
                kind, extra = self.dirt.civil_affairs(row, record)
                if extra is not None:
                    later.append(extra)
            rows.append(row)
            # Stale copies are older, so the row above is the one that wins; rejected rows count for nothing.
            survives = kind not in CIVIL_AFFAIRS_REJECTED
            if record.programme == ELDERLY and record.status == RECEIVING and survives:
                receiving.add(person.gmsfhm)
        return receiving
