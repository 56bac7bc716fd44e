"""`exchange rebuild`: the state rebuilt from the topics equals the live state, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from connectors.embedded import EmbeddedTransport
from exchange.bus import Bus
from exchange.cli import cli
from exchange.cli.pipeline import Progress, run_adapters
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.rebuild import RebuildError, rebuild
from exchange.registry.sql_store import sql_registry
from exchange.state import StateStore
from exchange.state.snapshot import Snapshot, differences, duplicate_rows, take_snapshot
from exchange.state.tables import forms
from exchange.township import generate_township

TODAY = date(2026, 6, 15)


def snapshot(store: StateStore) -> Snapshot:
    with store.engine.connect() as conn:
        return take_snapshot(conn)


@pytest.fixture(scope="module")
def township(tmp_path_factory: pytest.TempPathFactory) -> Path:
    town = tmp_path_factory.mktemp("rebuild") / "town"
    generate_township(town, residents=1500, seed=31, as_of=TODAY)
    return town


@pytest.fixture
def live(township: Path, store: StateStore, tmp_path: Path) -> Iterator[Bus]:
    """The township published on a fresh embedded bus and applied by the mediator (today pinned)."""
    bus = Bus(EmbeddedTransport(tmp_path / "bus.db"), sql_registry(store))
    bus.ensure_topics()
    run_adapters(bus, store, township, Progress())
    Mediator(bus, store, load_processes(), today=lambda: TODAY).run(until_caught_up=True)
    yield bus
    bus.close()


def test_rebuilt_state_equals_the_live_state(live: Bus, store: StateStore) -> None:
    """Replaying every topic from offset 0 into emptied tables gives back the same facts and forms."""
    before = snapshot(store)
    assert before["forms"]
    assert before["entity_facts"]
    result = rebuild(live, store, load_processes(), today=lambda: TODAY)
    after = snapshot(store)
    assert differences(before, after) == {}
    assert duplicate_rows(after) == {}
    assert result.stats.consumed == result.records == len(before["entity_facts"]) + result.stats.unchanged
    assert result.cleared["forms"] == result.counts["forms"] == len(before["forms"])


def test_an_interrupted_rebuild_is_finished_by_the_mediator(live: Bus, store: StateStore) -> None:
    """A rebuild that dies mid-replay left the group rewound: the next mediator run completes it."""
    before = snapshot(store)

    def crash(_records: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(live, store, load_processes(), today=lambda: TODAY, on_batch=crash)
    assert len(snapshot(store)["entity_facts"]) < len(before["entity_facts"])
    Mediator(live, store, load_processes(), today=lambda: TODAY).run(until_caught_up=True)
    assert differences(before, snapshot(store)) == {}


def test_rebuild_refuses_to_discard_staff_decisions(live: Bus, store: StateStore) -> None:
    """A confirmed form is staff work the topics cannot restore: refused unless asked to discard it."""
    with store.transaction() as conn:
        conn.execute(update(forms).where(forms.c.id == conn.execute(forms.select().limit(1)).first().id)
                     .values(status="confirmed"))
    with pytest.raises(RebuildError, match="staff decision"):
        rebuild(live, store, load_processes(), today=lambda: TODAY)
    result = rebuild(live, store, load_processes(), today=lambda: TODAY, discard_staff_work=True)
    assert result.counts["forms"] == result.cleared["forms"]


def test_rebuild_command_reports_counts_as_json(tmp_path: Path) -> None:
    """`exchange rebuild --json` replays the demo's topics and reports what it applied and rebuilt."""
    data_dir = tmp_path / "town"
    runner = CliRunner()
    demo = runner.invoke(cli, ["demo", "--residents", "150", "--seed", "3", "--data-dir", str(data_dir),
                               "--no-serve", "--json"], catch_exceptions=False)
    assert demo.exit_code == 0, demo.output
    result = runner.invoke(cli, ["rebuild", "--data-dir", str(data_dir), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["records_applied"] == report["records_on_topics"] > 0
    assert report["rows_now"]["forms"] == report["rows_cleared"]["forms"]
