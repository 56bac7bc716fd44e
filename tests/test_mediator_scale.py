"""Scale out: two mediator processes in one consumer group over Kafka, with PostgreSQL state, split the
partitions and together open the same forms as one mediator on the embedded log."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from brokers import TansuBroker
from databases import fresh_postgres_database
from servers import EXCHANGE, clean_env
from sqlalchemy import func, select

from exchange.cli.pipeline import Progress, open_state_and_bus, run_adapters
from exchange.clock import today_local
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.settings import Settings, load_settings
from exchange.state import StateStore
from exchange.state.snapshot import differences, duplicate_rows, take_snapshot
from exchange.state.tables import pending_evaluations

RESIDENTS = 4000


def publish(settings: Settings, town: Path) -> int:
    store, bus = open_state_and_bus(settings)
    try:
        return sum(run.published for run in run_adapters(bus, store, town, Progress()))
    finally:
        bus.close()
        store.close()


# Each run publishes the township itself, so the adapters' ingest times (and the digests over them) differ.
RUN_DEPENDENT = frozenset({"received_time", "digest"})


def _without_ingest_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ingest_times(v) for k, v in value.items() if k not in RUN_DEPENDENT}
    if isinstance(value, list):
        return [_without_ingest_times(v) for v in value]
    return value


def forms_snapshot(state_url: str) -> dict[str, list[str]]:
    """The forms and what hangs off them (history, notices), without the ingest times of this run."""
    store = StateStore(state_url)
    try:
        with store.engine.connect() as conn:
            snapshot = take_snapshot(conn)
    finally:
        store.close()
    return {table: sorted(json.dumps(_without_ingest_times(json.loads(row)), sort_keys=True, ensure_ascii=False)
                          for row in rows)
            for table, rows in snapshot.items() if table != "entity_facts"}


def waiting(state_url: str) -> int:
    store = StateStore(state_url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(pending_evaluations)).scalar_one()
    finally:
        store.close()


def lag(env: dict[str, str], cwd: Path) -> int:
    result = subprocess.run([*EXCHANGE, "lag", "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    return sum(row["lag"] for row in json.loads(result.stdout))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_mediators_over_kafka_split_the_partitions_and_open_the_same_forms(
    tmp_path: Path, postgres_server: str
) -> None:
    """Both members of the group apply records; lag reaches 0; forms, history and notices equal one mediator's."""
    from exchange.township import generate_township

    day = today_local()  # every mediator evaluates as of this date, even if the test runs across midnight
    # Two copies of one township: the file-drop adapters move the files they have read.
    towns = [tmp_path / "town-embedded", tmp_path / "town-kafka"]
    for town in towns:
        generate_township(town, residents=RESIDENTS, seed=13, as_of=day)

    # Reference: one mediator on the embedded log with SQLite state.
    reference = load_settings(data_dir=tmp_path / "embedded", bus_url=f"embedded:///{tmp_path / 'embedded' / 'bus.db'}",
                              state_url=f"sqlite:///{tmp_path / 'embedded' / 'state.db'}")
    published = publish(reference, towns[0])
    store, bus = open_state_and_bus(reference)
    try:
        Mediator(bus, store, load_processes(), today=lambda: day).run(until_caught_up=True)
    finally:
        bus.close()
        store.close()

    # A broker of its own: topic names are fixed by schemas/topics.yaml, and other tests publish to the
    # session broker's topics.
    (tmp_path / "tansu").mkdir()
    broker = TansuBroker(tmp_path / "tansu").start()
    logs = [tmp_path / f"mediator-{n}.log" for n in (1, 2)]
    try:
        with fresh_postgres_database(postgres_server) as state_url:
            env = clean_env(EXCHANGE_BUS_URL=broker.url, EXCHANGE_STATE_URL=state_url,
                            EXCHANGE_DATA_DIR=str(tmp_path / "kafka"), EXCHANGE_EVALUATION_DATE=day.isoformat())
            kafka = load_settings(data_dir=tmp_path / "kafka", bus_url=broker.url, state_url=state_url)
            store, bus = open_state_and_bus(kafka)  # topics and tables exist before the members join
            bus.close()
            store.close()
            members = []
            for log in logs:
                with log.open("wb") as out:  # the child keeps its own copy of the descriptor
                    members.append(subprocess.Popen([*EXCHANGE, "run", "mediator"], cwd=tmp_path, env=env,
                                                    stdout=out, stderr=subprocess.STDOUT))
            try:
                time.sleep(8)  # both members join and the group settles before the records arrive
                assert publish(kafka, towns[1]) == published
                deadline = time.monotonic() + 300
                while lag(env, tmp_path) or waiting(state_url):
                    assert all(m.poll() is None for m in members), [log.read_text()[-2000:] for log in logs]
                    assert time.monotonic() < deadline, "the two mediators did not catch up"
                    time.sleep(1)
            finally:
                for member in members:
                    member.send_signal(signal.SIGTERM)
                codes = [member.wait(timeout=60) for member in members]
            outputs = [log.read_text(errors="replace") for log in logs]
            assert codes == [0, 0], outputs
            applied = [int(re.search(r"after applying ([\d,]+) records", out)[1].replace(",", "")) for out in outputs]
            scaled = forms_snapshot(state_url)
    finally:
        broker.stop()

    print("records applied by each member:", applied, "of", published)
    assert all(n > 0 for n in applied), f"one member got no partitions: {applied}"
    assert sum(applied) >= published  # a rebalance may hand a partition over mid-batch: re-applied, no effect
    expected = forms_snapshot(reference.state_url)
    assert expected["forms"]
    assert duplicate_rows(scaled) == {}
    assert differences(scaled, expected) == {}
