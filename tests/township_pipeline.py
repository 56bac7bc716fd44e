"""A generated township published and mediated once, then copied for each test that changes it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.embedded import EmbeddedTransport
from exchange.bus import Bus
from exchange.cli.pipeline import Progress, run_adapters
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.registry.sql_store import sql_registry
from exchange.state import StateStore
from exchange.state.notices import notices
from exchange.state.tables import entity_facts, forms
from exchange.township import generate_township
from exchange.township.manifest import TownshipManifest

AS_OF = date(2026, 6, 1)


@dataclass
class Town:
    """A mediated township: its bus and state store, and the manifest's ground truth."""

    bus: Bus
    store: StateStore
    manifest: TownshipManifest

    def mediator(self, today: date = AS_OF) -> Mediator:
        return Mediator(self.bus, self.store, load_processes(), today=lambda: today)

    def facts(self, record_type: str) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(entity_facts).where(
                entity_facts.c.record_type == record_type, entity_facts.c.deleted.is_(False))))

    def forms(self, process: str, status: str | None = None) -> list[Any]:
        query = select(forms).where(forms.c.process_id == process)
        if status:
            query = query.where(forms.c.status == status)
        with self.store.engine.connect() as conn:
            return list(conn.execute(query))

    def notices(self) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(notices)))

    def publish(self, topic: str, *records: dict[str, Any]) -> None:
        publisher = self.bus.publisher()
        for record in records:
            publisher.publish(topic, record)
        publisher.flush()
        publisher.close()


def build(folder: Path, residents: int, seed: int) -> TownshipManifest:
    """Generate a township into ``folder/town``, publish it and mediate it as of ``AS_OF``."""
    manifest = generate_township(folder / "town", residents=residents, seed=seed, as_of=AS_OF)
    store = StateStore(f"sqlite:///{folder / 'state.db'}")
    store.create_schema()
    bus = Bus(EmbeddedTransport(folder / "bus.db"), sql_registry(store))
    bus.ensure_topics()
    run_adapters(bus, store, folder / "town", Progress())
    Mediator(bus, store, load_processes(), today=lambda: AS_OF).run(until_caught_up=True)
    bus.close()
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return manifest


@contextmanager
def copy_of(folder: Path, manifest: TownshipManifest, into: Path) -> Iterator[Town]:
    """The mediated township in ``folder``, copied into ``into`` so a test may change it."""
    for name in ("state.db", "bus.db", "bus.db-wal"):
        if (folder / name).exists():
            shutil.copy(folder / name, into / name)
    store = StateStore(f"sqlite:///{into / 'state.db'}")
    bus = Bus(EmbeddedTransport(into / "bus.db"), sql_registry(store))
    try:
        yield Town(bus, store, manifest)
    finally:
        bus.close()
        store.close()


def meta(department: str, record_id: str) -> dict[str, Any]:
    """Record metadata of a record a department sends the day before ``AS_OF``."""
    moment = datetime(2026, 5, 31, 9, 0, tzinfo=UTC)
    return {"source_department": department, "source_record_id": record_id, "event_time": moment,
            "ingest_time": moment, "operation": "UPSERT"}


def funeral(resident_id: str, died: date) -> dict[str, Any]:
    return {"meta": meta("CIVIL_AFFAIRS", f"HH-{resident_id}"), "resident_id": resident_id, "death_date": died,
            "cremation_or_burial_date": died, "funeral_home_name": "富民县殡仪馆", "record_number": f"HH-{resident_id}"}


def death(resident_id: str, died: date) -> dict[str, Any]:
    return {"meta": meta("PUBLIC_SECURITY", f"SW-{resident_id}"), "resident_id": resident_id, "death_date": died,
            "death_place": "家中", "cause_category": "ACCIDENT", "death_certificate_number": f"N-{resident_id}",
            "household_cancellation_date": None}


def certificate(resident_id: str, issued: date) -> dict[str, Any]:
    number = f"{resident_id}42"  # PHYSICAL (4), grade TWO (2)
    return {"meta": meta("DISABLED_PERSONS_FEDERATION", number), "resident_id": resident_id,
            "certificate_number": number, "disability_type": "PHYSICAL", "disability_grade": "TWO",
            "issued_date": issued, "valid_until": None, "status": "VALID"}
