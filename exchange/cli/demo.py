"""``exchange demo`` and ``exchange generate``: a synthetic township through the whole bus."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from exchange.bus import transport_for
from exchange.cli.main import cli, emit_json, settings_from
from exchange.cli.pipeline import PipelineRun, Progress, run_township
from exchange.clock import today_local
from exchange.errors import ConfigError
from exchange.settings import DEFAULT_DATA_DIR, Settings
from exchange.state import StateStore
from exchange.state.forms import form_counts
from exchange.state.notices import notice_counts
from exchange.topics import DEAD_LETTER_TOPIC
from exchange.township import generate_township
from exchange.township.manifest import MANIFEST_FILE


class RichPipelineProgress(Progress):
    """Progress bars on the terminal (rich hides them when output is not a terminal)."""

    def __init__(self, progress: RichProgress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def _task(self, name: str, total: int | None = None) -> Any:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        return self.tasks[name]

    def adapter_rows(self, adapter: str, rows: int) -> None:
        self.progress.advance(self._task(f"adapter {adapter}"), rows)

    def mediator_total(self, records: int) -> None:
        self.progress.update(self._task("mediator", records), total=records)

    def mediator_batch(self, records: int) -> None:
        self.progress.advance(self._task("mediator"), records)


def ensure_township(data_dir: Path, residents: int, seed: int, as_of: date) -> dict[str, Any]:
    """The township in ``data_dir``: generated once, then reused, so a second demo run adds nothing."""
    manifest_path = data_dir / MANIFEST_FILE
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if (manifest["residents"], manifest["seed"]) != (residents, seed):
            raise ConfigError(
                f"{data_dir} holds a township of {manifest['residents']} residents (seed {manifest['seed']}); "
                f"use another --data-dir for {residents} residents with seed {seed}"
            )
        return manifest
    generate_township(data_dir, residents=residents, seed=seed, as_of=as_of)
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def summarise(run: PipelineRun, settings: Settings) -> dict[str, Any]:
    """Counts of this run and of the whole state, as data."""
    store = StateStore(settings.state_url)
    with store.engine.connect() as conn:
        counts = form_counts(conn)
        notices = notice_counts(conn)
    store.close()
    with transport_for(settings) as transport:
        dead_letters = sum(transport.end_offsets(DEAD_LETTER_TOPIC).values())
    return {
        "this_run": {
            "published": {a.adapter: a.published for a in run.adapters},
            "rejected": {a.adapter: a.rejected for a in run.adapters},
            "reject_reasons": {a.adapter: dict(a.reasons) for a in run.adapters},
            "records_applied": run.mediator.consumed,
            "forms": dict(run.mediator.forms),
            "notices_sent": run.mediator.notices_sent,
        },
        "total": {
            "dead_letters": dead_letters,
            "forms": {f"{process}/{status}": n for process, status, n, _, _ in counts},
            "fields_prefilled": sum(c[3] for c in counts),
            "fields_left_to_staff": sum(c[4] for c in counts),
            "notices": {f"{process}/{department}": n for (process, department), (n, _) in sorted(notices.items())},
            "notices_sent": sum(sent for _, sent in notices.values()),
        },
    }


def summary_line(summary: dict[str, Any]) -> str:
    run, total = summary["this_run"], summary["total"]
    published = ", ".join(f"{name} {n:,}" for name, n in run["published"].items())
    forms_total = sum(total["forms"].values())
    return (
        f"published {sum(run['published'].values()):,} records ({published}), "
        f"rejected {sum(run['rejected'].values()):,} to dead letters, "
        f"{run['forms'].get('created', 0):,} forms created ({forms_total:,} in total), "
        f"{run['notices_sent']:,} notices sent to departments, "
        f"{total['fields_prefilled']:,} fields pre-filled vs {total['fields_left_to_staff']:,} left to staff"
    )


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="this run", show_header=True)
    for column in ("adapter", "published", "rejected", "reasons"):
        table.add_column(column)
    for name, published in summary["this_run"]["published"].items():
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(summary["this_run"]["reject_reasons"][name].items()))
        table.add_row(name, f"{published:,}", f"{summary['this_run']['rejected'][name]:,}", reasons)
    console.print(table)
    forms = Table(title="forms in the state store", show_header=True)
    forms.add_column("process/status")
    forms.add_column("forms")
    for key, n in sorted(summary["total"]["forms"].items()):
        forms.add_row(key, f"{n:,}")
    console.print(forms)
    console.print(summary_line(summary), soft_wrap=True)


@cli.command()
@click.option("--residents", type=click.IntRange(1), default=2000, show_default=True, help="Township size.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic township.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DATA_DIR, show_default=True,
              help="Folder for the sources, the embedded bus and the state store.")
@click.option("--bus", "bus_url", help="Bus URL (default: embedded log in the data folder).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="HTTP port.")
@click.option("--no-serve", is_flag=True, help="Exit after the summary instead of serving the app.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(residents: int, seed: int, data_dir: Path, bus_url: str | None, port: int, no_serve: bool,
         as_json: bool) -> None:
    """Generate a township, run every adapter and the mediator, print a summary, serve the app."""
    settings = settings_from(data_dir, bus_url)
    console = Console(stderr=as_json)
    with console.status(f"generating a township of {residents:,} residents in {data_dir}"):
        ensure_township(data_dir, residents, seed, settings.today())
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with RichProgress(*columns, console=console, transient=not console.is_terminal) as bars:
        run = run_township(settings, RichPipelineProgress(bars))
    summary = summarise(run, settings)
    if as_json:
        emit_json(summary)
    else:
        print_summary(console, summary)
    if not no_serve:
        from exchange.cli.commands import serve_app

        console.print(f"serving the staff app and API on http://127.0.0.1:{port}/ (Ctrl+C to stop)")
        serve_app(settings, port)


@cli.command()
@click.option("--residents", type=click.IntRange(1), required=True, help="Number of residents.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the sources to.")
@click.option("--dirty-rate", type=click.FloatRange(0, 0.5), default=0.02, show_default=True,
              help="Share of rows with deliberate errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def generate(residents: int, seed: int, out: Path, dirty_rate: float, as_json: bool) -> None:
    """Write a synthetic township's department sources (deterministic for a seed)."""
    generate_township(out, residents=residents, seed=seed, dirty_rate=dirty_rate, as_of=today_local())
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    if as_json:
        emit_json(manifest)
    else:
        click.echo(f"wrote {manifest['residents']:,} residents in {manifest['households']:,} households to {out}")
