"""Shared fixtures: a real embedded bus per test, and state stores on SQLite and on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import TansuBroker
from databases import check_postgres, fresh_postgres_database

from connectors.embedded import EmbeddedTransport
from exchange.bus import Bus
from exchange.state import StateStore


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """A real Kafka-protocol broker (tansu) on a free loopback port for the whole session."""
    broker = TansuBroker(tmp_path_factory.mktemp("tansu")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the test PostgreSQL server (a test needing it fails loudly when it is down)."""
    return check_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty state store URL: SQLite in a temp folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    store = StateStore(state_url)
    store.create_schema()
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.create_schema()
    yield store
    store.close()


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    """A typed bus over a fresh embedded log, with every topic created."""
    bus = Bus(EmbeddedTransport(tmp_path / "bus.db"))
    bus.ensure_topics()
    yield bus
    bus.close()
