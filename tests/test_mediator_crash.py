"""Exactly-once effect: the mediator killed with SIGKILL mid-batch, again and again, ends where a clean run does."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import EXCHANGE, clean_env
from sqlalchemy import func, select

from exchange.cli.pipeline import Progress, open_state_and_bus, run_adapters
from exchange.clock import today_local
from exchange.mediator import GROUP
from exchange.settings import load_settings
from exchange.state import StateStore
from exchange.state.snapshot import Snapshot, differences, duplicate_rows, take_snapshot
from exchange.state.tables import consumer_offsets, pending_evaluations
from exchange.township import generate_township

RESIDENTS = 10_000  # about 30,000 records over the township's sources
KILLS = 10  # while the backlog is applied
EVALUATION_KILLS = 3  # then while the caught-up mediator evaluates
SEED = 20260615
DAY = today_local()  # every mediator of both runs evaluates as of this date, even across midnight


def state_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'state.db'}"


def publish_township(data_dir: Path) -> int:
    """Generate a township into ``data_dir`` and publish all of its sources on the embedded bus there."""
    generate_township(data_dir, residents=RESIDENTS, seed=7, as_of=DAY)
    settings = load_settings(data_dir=data_dir, bus_url=f"embedded:///{data_dir / 'bus.db'}",
                             state_url=state_url(data_dir))
    store, bus = open_state_and_bus(settings)
    try:
        runs = run_adapters(bus, store, data_dir, Progress())
    finally:
        bus.close()
        store.close()
    return sum(run.published for run in runs)


def copy_databases(source: Path, target: Path) -> None:
    """A consistent copy of the bus and the state store (SQLite's backup API, not a file copy)."""
    target.mkdir()
    for name in ("bus.db", "state.db"):
        with sqlite3.connect(source / name) as src, sqlite3.connect(target / name) as dst:
            src.backup(dst)
        src.close()
        dst.close()


def mediator(data_dir: Path) -> subprocess.Popen[bytes]:
    with (data_dir / "mediator.log").open("ab") as log:  # the child keeps its own copy of the descriptor
        # Restarts make the catch-up long; evaluation must still wait for the whole backlog, as in one clean run.
        env = clean_env(EXCHANGE_MEDIATOR_MAX_DELAY="3600", EXCHANGE_EVALUATION_DATE=DAY.isoformat())
        return subprocess.Popen([*EXCHANGE, "run", "mediator", "--data-dir", str(data_dir)], cwd=data_dir,
                                env=env, stdout=log, stderr=log)


def progress(data_dir: Path) -> tuple[int, int]:
    """(records applied by the mediator's group, entities still waiting for evaluation), from the state."""
    store = StateStore(state_url(data_dir))
    try:
        with store.engine.connect() as conn:
            applied = conn.execute(select(func.coalesce(func.sum(consumer_offsets.c.next_offset), 0))
                                   .where(consumer_offsets.c.group_id == GROUP)).scalar_one()
            waiting = conn.execute(select(func.count()).select_from(pending_evaluations)).scalar_one()
    finally:
        store.close()
    return int(applied), int(waiting)


def lag(data_dir: Path) -> int:
    result = subprocess.run([*EXCHANGE, "lag", "--data-dir", str(data_dir), "--json"], cwd=data_dir,
                            env=clean_env(), capture_output=True, text=True, timeout=120, check=True)
    return sum(row["lag"] for row in json.loads(result.stdout))


def run_until_caught_up(data_dir: Path, timeout: float = 120) -> None:
    """Run the mediator until the bus shows no lag and no entity waits for evaluation, then stop it."""
    process = mediator(data_dir)
    try:
        deadline = time.monotonic() + timeout
        while lag(data_dir) or progress(data_dir)[1]:
            assert process.poll() is None, (data_dir / "mediator.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the mediator did not catch up"
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, (data_dir / "mediator.log").read_text(errors="replace")[-3000:]


def snapshot(data_dir: Path) -> Snapshot:
    store = StateStore(state_url(data_dir))
    try:
        with store.engine.connect() as conn:
            return take_snapshot(conn)
    finally:
        store.close()


@dataclass
class CrashRuns:
    killed: Snapshot
    clean: Snapshot
    kills: list[tuple[int, int]]


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory) -> CrashRuns:
    """One township applied twice: by a mediator SIGKILLed ten times at seeded random moments, and cleanly."""
    root = tmp_path_factory.mktemp("crash")
    killed_dir, clean_dir = root / "killed", root / "clean"
    published = publish_township(killed_dir)
    assert published >= 20_000
    copy_databases(killed_dir, clean_dir)

    rng = random.Random(SEED)
    kills: list[tuple[int, int]] = []
    last = progress(killed_dir)
    for _ in range(KILLS):
        process = mediator(killed_dir)
        deadline = time.monotonic() + 30
        while progress(killed_dir) == last and time.monotonic() < deadline:
            time.sleep(0.05)  # until this run has applied or evaluated something of its own
        time.sleep(rng.uniform(0.0, 0.4))  # then a seeded random moment, mostly mid-batch
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        last = progress(killed_dir)
        kills.append(last)
    # Then kills while the caught-up mediator evaluates the waiting entities (in transactions of 2,000).
    for _ in range(EVALUATION_KILLS):
        process = mediator(killed_dir)
        deadline = time.monotonic() + 60
        while (progress(killed_dir)[0] < published or progress(killed_dir) == last) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        last = progress(killed_dir)
        kills.append(last)
    print("at each kill (records applied, entities waiting for evaluation):", kills)
    assert any(applied >= published and waiting for applied, waiting in kills), f"no kill during evaluation: {kills}"
    assert all(applied < published or waiting for applied, waiting in kills), f"a kill came after the work: {kills}"
    assert len({applied for applied, _ in kills}) > KILLS // 2, f"most kills landed before any progress: {kills}"
    run_until_caught_up(killed_dir)
    run_until_caught_up(clean_dir)
    return CrashRuns(snapshot(killed_dir), snapshot(clean_dir), kills)


def keys(snapshot: Snapshot, table: str, *columns: str) -> list[tuple[object, ...]]:
    rows = [json.loads(row) for row in snapshot.get(table, [])]
    return sorted(tuple(row[c] for c in columns) for row in rows)


@pytest.mark.slow
def test_each_record_changes_state_exactly_once_across_sigkills(crash_runs: CrashRuns) -> None:
    """Identical entity facts, no duplicate form or notice, and every form of the clean run present."""
    killed, clean = crash_runs.killed, crash_runs.clean
    assert clean["forms"]
    assert clean["entity_facts"]
    assert duplicate_rows(killed) == {}
    assert killed["entity_facts"] == clean["entity_facts"]
    identities = {"forms": ("process_id", "entity_key"), "notices": ("process_id", "entity_key", "department")}
    for table, key in identities.items():
        found = keys(killed, table, *key)
        assert len(found) == len(set(found)), f"duplicate {table}"
        assert set(keys(clean, table, *key)) <= set(found), f"{table} of the clean run missing after the kills"


@pytest.mark.slow
def test_state_after_sigkills_equals_one_clean_run_row_for_row(crash_runs: CrashRuns) -> None:
    """Every row of every state table (forms with revisions and history, notices with contents) equals the clean run."""
    assert differences(crash_runs.killed, crash_runs.clean) == {}
