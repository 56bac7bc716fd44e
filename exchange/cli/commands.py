"""Operational commands: serve, run, schemas, topics, adapters, processes, lag, dlq, config."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters import ADAPTERS, get_adapter
from exchange.bus import Bus, transport_for
from exchange.cli.main import cli, emit_json, settings_from
from exchange.cli.pipeline import open_state_and_bus
from exchange.dead_letter_reader import dead_letters_on, matching
from exchange.entities import iso_ms
from exchange.errors import SourceError, TransportError
from exchange.mediator import GROUP, Mediator
from exchange.processes import load_processes
from exchange.processes.definition import load_process
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.topics import load_topics, topic_for
from schemas import PROCESSES_DIR

data_dir_option = click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (EXCHANGE_DATA_DIR).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def serve_app(settings: Settings, port: int, host: str = "127.0.0.1") -> None:
    import uvicorn

    from exchange.web.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@data_dir_option
def serve(port: int, host: str, data_dir: Path | None) -> None:
    """Serve the API (/api/), /metrics, /healthz and /readyz."""
    serve_app(settings_from(data_dir), port, host)


@cli.group()
def run() -> None:
    """Long-running workers."""


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@run.command("mediator")
@data_dir_option
def run_mediator(data_dir: Path | None) -> None:
    """Consume department topics and keep forms up to date until SIGINT/SIGTERM."""
    settings = settings_from(data_dir)
    store, bus = open_state_and_bus(settings)
    mediator = Mediator(bus, store, load_processes(enabled=settings.processes_enabled),
                        max_delay=settings.mediator_max_delay, today=settings.today)
    stats = mediator.run(stop=_stop_on_signals())
    click.echo(f"mediator stopped after applying {stats.consumed:,} records")


@run.command("adapter")
@click.argument("name", type=click.Choice(sorted(ADAPTERS)))
@click.option("--source", required=True, help="Source URL or path (database URL, CSV file or folder).")
@click.option("--every", help="Poll again after this interval (e.g. 60s, 5m); once when omitted.")
@data_dir_option
def run_adapter(name: str, source: str, every: str | None, data_dir: Path | None) -> None:
    """Publish a department source's new rows to the bus (once, or --every interval)."""
    settings = settings_from(data_dir)
    interval = _parse_interval(every) if every else None
    adapter = get_adapter(name)
    store, bus = open_state_and_bus(settings)
    stop = _stop_on_signals()
    console = Console(stderr=True)
    while True:
        try:
            with RichProgress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                              TimeElapsedColumn(), console=console, transient=True) as bars:
                task = bars.add_task(f"{name}: reading {source}")
                stats = adapter.run(bus, adapter.source(source), store,
                                    progress=lambda rows, task=task: bars.advance(task, rows))
        except (TransportError, SourceError) as exc:
            if interval is None:
                raise
            # The watermark stayed before the failed batch: the next run publishes it again.
            click.echo(f"{name}: run failed, retrying in {every}: {exc}", err=True)
        else:
            click.echo(stats.summary())
        if interval is None or stop.wait(interval):
            break


def _parse_interval(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise click.BadParameter(f"{text!r} is not an interval like 30s, 5m or 1h", param_hint="--every") from None


@cli.group()
def topics() -> None:
    """Topics of the bus."""


@topics.command("create")
@data_dir_option
@json_option
def topics_create(data_dir: Path | None, as_json: bool) -> None:
    """Create every topic of schemas/topics.yaml that is missing, with its partitions, replication and
    retention (idempotent)."""
    with Bus.open(settings_from(data_dir)) as bus:
        created = bus.ensure_topics()
    if as_json:
        emit_json(created)
        return
    for name, was_created in created.items():
        click.echo(f"{name}: {'created' if was_created else 'exists'}")


@topics.command("list")
@data_dir_option
@json_option
def topics_list(data_dir: Path | None, as_json: bool) -> None:
    """Topics on the bus with their partitions and message counts."""
    with transport_for(settings_from(data_dir)) as transport:
        rows = [{"topic": name, "partitions": info.partitions, "messages": sum(transport.end_offsets(name).values())}
                for name, info in sorted(transport.topics().items())]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row['topic']:<32} partitions={row['partitions']:<3} messages={row['messages']:,}")


@topics.command("describe")
@click.argument("topic")
@data_dir_option
@json_option
def topics_describe(topic: str, data_dir: Path | None, as_json: bool) -> None:
    """One topic: partitions, end offsets and its schema subject."""
    spec = load_topics().get(topic)
    with transport_for(settings_from(data_dir)) as transport:
        if topic not in transport.topics():
            raise click.ClickException(f"no topic {topic!r} on the bus")
        ends = transport.end_offsets(topic)
    data = {"topic": topic, "subject": spec.subject if spec else None, "key": spec.key if spec else None,
            "replication_factor": spec.replication_factor if spec else None,
            "config": spec.kafka_config() if spec else {},
            "partitions": {str(p): {"end_offset": e} for p, e in sorted(ends.items())}}
    if as_json:
        emit_json(data)
        return
    click.echo(f"{topic}  subject={data['subject']}  key={data['key']}")
    for p, info in data["partitions"].items():
        click.echo(f"  partition {p}: end offset {info['end_offset']:,}")


@cli.group()
def adapters() -> None:
    """Department adapters."""


@adapters.command("list")
@data_dir_option
@json_option
def adapters_list(data_dir: Path | None, as_json: bool) -> None:
    """Installed adapters: department, record type, source kind, topic, and how far each source got."""
    store = StateStore(settings_from(data_dir).state_url)
    store.create_schema()
    progress = store.progress()
    store.close()
    rows = []
    for name, adapter_type in sorted(ADAPTERS.items()):
        adapter = adapter_type()
        rows.append({
            "name": name, "department": adapter.department, "record_type": adapter.record_type,
            "source_kind": adapter.source_kind, "topic": topic_for(adapter.department, adapter.record_type).name,
            "description": adapter.description,
            "sources": [p | {"updated_at": iso_ms(p["updated_at"])} for p in progress
                        if adapter.owns_source(p["source_id"])],
        })
    if as_json:
        emit_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("adapter", "department", "source", "topic", "progress"):
        table.add_column(column, overflow="fold")
    for row in rows:
        progress_lines = []
        for source in row["sources"]:
            where = (f"watermark {source['watermark'].get('ts')} id={source['watermark'].get('id')}"
                     if "watermark" in source else f"{source['files']} files, last {source['last_file']}")
            progress_lines.append(f"{source['source_id']}: {where} (at {source['updated_at']})")
        table.add_row(row["name"], row["department"], row["source_kind"], row["topic"],
                      "\n".join(progress_lines) or "not run yet")
    Console(width=max(Console().width, 160)).print(table)


@cli.group()
def processes() -> None:
    """Collaborative processes."""


@processes.command("list")
@json_option
def processes_list(as_json: bool) -> None:
    """Enabled processes (EXCHANGE_PROCESSES_ENABLED, with EXCHANGE_PROCESSES_DIR laid over schemas/processes)."""
    from exchange.processes.definition import configured_processes

    rows = [{"id": p.id, "version": p.version, "title": p.title.zh, "entity": p.entity, "cycle": p.cycle,
             "fields": len(p.fields), "manual_fields": len(p.manual_fields),
             "notices": [n.department for n in p.notices]} for p in configured_processes(settings_from())]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        notices = f"  notifies {', '.join(r['notices'])}" if r["notices"] else ""
        click.echo(f"{r['id']:<30} v{r['version']} {r['entity']:<10} {r['cycle']:<6} {r['fields']} pre-filled, "
                   f"{r['manual_fields']} manual  {r['title']}{notices}")


@processes.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def processes_validate(files: tuple[Path, ...]) -> None:
    """Check process definitions (default: schemas/processes/ and the county's EXCHANGE_PROCESSES_DIR),
    including that every department they notify has a notice topic."""
    from exchange.notices import check_notice_topics

    county = settings_from().processes_dir
    default = sorted(PROCESSES_DIR.glob("*.yaml")) + (sorted(county.glob("*.yaml")) if county else [])
    for path in files or default:
        process = load_process(path)
        check_notice_topics([process], load_topics())
        click.echo(f"ok: {path.name} ({process.id} v{process.version})")


@cli.command()
@data_dir_option
@json_option
def lag(data_dir: Path | None, as_json: bool) -> None:
    """Records on the bus not yet applied by the mediator, per topic and partition."""
    settings = settings_from(data_dir)
    rows = []
    with transport_for(settings) as transport:
        for name, spec in sorted(load_topics().items()):
            if spec.entity is None or name not in transport.topics():
                continue
            committed = transport.committed_offsets(GROUP, name)
            for partition, end in sorted(transport.end_offsets(name).items()):
                done = committed.get(partition, 0)
                rows.append({"group": GROUP, "topic": name, "partition": partition, "committed": done,
                             "end": end, "lag": end - done})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['topic']:<28} {r['partition']:>3}  committed={r['committed']:<8} end={r['end']:<8} lag={r['lag']}"
        )


@cli.group()
def dlq() -> None:
    """Dead letters: records the bus rejected, with reasons."""


@dlq.command("list")
@click.option("--department", help="Only this department (e.g. PUBLIC_SECURITY).")
@click.option("--reason", help="Only this reason (e.g. invalid_resident_id).")
@data_dir_option
@json_option
def dlq_list(department: str | None, reason: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Dead letters with their reason and origin."""
    rows: list[dict[str, Any]] = [
        {"partition": p, "offset": o, "id": d.id, "department": d.department, "reason": d.reason,
         "detail": d.detail, "origin": d.origin, "failed_at": d.failed_at.isoformat()}
        for p, o, d in matching(dead_letters_on(settings_from(data_dir)), department, reason)
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['department'] or '-':<18} {r['reason']:<22} {r['origin']}  {r['detail']}")
    click.echo(f"{len(rows):,} dead letters")


@cli.group()
def config() -> None:
    """Settings."""


@config.command("show")
@data_dir_option
def config_show(data_dir: Path | None) -> None:
    """The effective settings."""
    emit_json(settings_from(data_dir).model_dump(mode="json"))
