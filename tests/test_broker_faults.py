"""Broker faults: the broker dies while an adapter publishes; nothing is lost or applied twice."""

from __future__ import annotations

import gc
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from brokers import TansuBroker
from sqlalchemy import func, select

from adapters import get_adapter
from exchange.bus import Bus
from exchange.errors import TransportError
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.registry.sql_store import sql_registry
from exchange.settings import load_settings
from exchange.state import StateStore
from exchange.state.tables import entity_facts
from exchange.township import generate_township

BATCH = 200


@pytest.mark.slow
# kafka-python leaves the sockets of connections refused by the dead broker for the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_adapter_loses_nothing_when_the_broker_dies_mid_publish(tmp_path: Path, client: str) -> None:
    """The failed batch is reported, the watermark stays before it, and a re-run completes exactly once."""
    manifest = generate_township(tmp_path / "town", residents=2000, seed=5, as_of=date(2026, 6, 1))
    clean_rows = manifest.counts["public_security"] - manifest.expected_rejects["public_security"]
    broker = TansuBroker(tmp_path).start()
    settings = load_settings(data_dir=tmp_path / "town", bus_url=broker.url, kafka_client=client,
                             kafka_request_timeout_ms=3000, kafka_delivery_timeout_ms=5000)
    store = StateStore(settings.state_url)
    store.create_schema()
    registry = sql_registry(store)
    adapter = get_adapter("public_security")
    source = adapter.source(str(tmp_path / "town" / "public_security.db"))
    consumed = 0

    def apply_everything(bus: Bus) -> None:
        nonlocal consumed
        consumed += Mediator(bus, store, load_processes()).run(until_caught_up=True).consumed

    bus = Bus.open(settings, registry)
    bus.ensure_topics()
    batches = 0

    def after_batch(_rows: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:  # three batches acknowledged and applied, then the broker goes away
            apply_everything(bus)
            broker.stop()

    with pytest.raises(TransportError):
        adapter.run(bus, source, store, batch_size=BATCH, progress=after_batch)
    bus.close()
    with sqlite3.connect(tmp_path / "town" / "public_security.db") as registry_db:
        last_delivered = registry_db.execute(
            "SELECT gxsj, id FROM hjxx_czrk ORDER BY gxsj, id LIMIT 1 OFFSET ?", (3 * BATCH - 1,)).fetchone()
    watermark = store.checkpoint(source.source_id)
    assert (watermark["ts"], watermark["id"]) == last_delivered

    replacement = TansuBroker(tmp_path, port=broker.port).start()  # a new, empty broker, same address
    try:
        with Bus.open(settings, registry) as bus:
            bus.ensure_topics()
            rerun = adapter.run(bus, source, store, batch_size=BATCH)
            apply_everything(bus)
    finally:
        replacement.stop()
    assert rerun.read == manifest.counts["public_security"] - 3 * BATCH
    with store.engine.connect() as conn:
        residents = conn.execute(select(func.count()).select_from(entity_facts).where(
            entity_facts.c.record_type == "resident")).scalar_one()
    assert residents == clean_rows  # every clean row applied, none missing
    assert consumed == clean_rows  # and each delivered to the mediator exactly once
    store.close()
    gc.collect()  # so the sockets kafka-python left to the collector are reported under this test's filters
