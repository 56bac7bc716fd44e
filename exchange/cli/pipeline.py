"""Runs the adapters over a township's sources and the mediator until it has caught up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from adapters import AdapterRun, get_adapter
from exchange.bus import Bus
from exchange.errors import ConfigError
from exchange.mediator import Mediator, MediatorStats
from exchange.processes import load_processes
from exchange.registry.sql_store import sql_registry
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.township.manifest import MANIFEST_FILE


@dataclass
class PipelineRun:
    adapters: list[AdapterRun] = field(default_factory=list)
    mediator: MediatorStats = field(default_factory=MediatorStats)


class Progress:
    """Callbacks for long work; the CLI shows them as progress bars."""

    def adapter_rows(self, adapter: str, rows: int) -> None: ...

    def mediator_batch(self, records: int) -> None: ...

    def mediator_total(self, records: int) -> None: ...


def open_state_and_bus(settings: Settings) -> tuple[StateStore, Bus]:
    """The state store (tables created) and the bus over it (registry in the store, topics created)."""
    store = StateStore(settings.state_url)
    store.create_schema()
    bus = Bus.open(settings, sql_registry(store))
    bus.ensure_topics()
    return store, bus


def township_sources(data_dir: Path) -> dict[str, Path]:
    """Each adapter's source in the township generated into ``data_dir``, from its manifest (``files``:
    adapter name → path relative to the folder), in the manifest's order."""
    path = data_dir / MANIFEST_FILE
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} does not describe a township's sources ({exc}); run `exchange generate`") from exc
    return {name: data_dir / relative for name, relative in files.items()}


def run_adapters(bus: Bus, store: StateStore, data_dir: Path, progress: Progress) -> list[AdapterRun]:
    """Run every adapter over its source in the township in ``data_dir``, once."""
    runs = []
    for name, source_path in township_sources(data_dir).items():
        adapter = get_adapter(name)
        source = adapter.source(str(source_path))
        runs.append(adapter.run(bus, source, store, progress=lambda n, a=name: progress.adapter_rows(a, n)))
    return runs


def run_mediator(bus: Bus, store: StateStore, settings: Settings, progress: Progress) -> MediatorStats:
    mediator = Mediator(bus, store, load_processes(enabled=settings.processes_enabled),
                        max_delay=settings.mediator_max_delay, today=settings.today)
    backlog = 0
    for topic in mediator.topics:
        committed = bus.transport.committed_offsets(mediator.group, topic)
        backlog += sum(end - committed.get(p, 0) for p, end in bus.transport.end_offsets(topic).items())
    progress.mediator_total(backlog)
    return mediator.run(until_caught_up=True, progress=lambda batch: progress.mediator_batch(batch.consumed))


def run_township(settings: Settings, progress: Progress | None = None) -> PipelineRun:
    """Publish every department source under ``settings.data_dir`` and apply it all."""
    progress = progress or Progress()
    store, bus = open_state_and_bus(settings)
    try:
        result = PipelineRun()
        result.adapters = run_adapters(bus, store, settings.data_dir, progress)
        result.mediator = run_mediator(bus, store, settings, progress)
        return result
    finally:
        bus.close()
        store.close()
