"""``exchange rebuild``: the mediator's state rebuilt from the topics (logic in exchange.rebuild)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from exchange.cli.main import cli, emit_json, settings_from
from exchange.cli.pipeline import open_state_and_bus
from exchange.processes import load_processes
from exchange.rebuild import rebuild as rebuild_state


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (EXCHANGE_DATA_DIR).")
@click.option("--discard-staff-work", is_flag=True,
              help="Rebuild even though forms carry staff decisions (they are lost: the topics do not hold them).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def rebuild(data_dir: Path | None, discard_staff_work: bool, as_json: bool) -> None:
    """Rebuild entity views and forms by replaying every entity topic from offset 0.

    Stop every `exchange run mediator` first; safe to interrupt and run again.
    """
    settings = settings_from(data_dir)
    store, bus = open_state_and_bus(settings)
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with RichProgress(*columns, console=console, transient=True) as bars:
            task = bars.add_task("replaying topics", total=None)
            result = rebuild_state(
                bus, store, load_processes(enabled=settings.processes_enabled),
                discard_staff_work=discard_staff_work,
                today=settings.today,
                on_total=lambda n: bars.update(task, total=n),
                on_batch=lambda n: bars.advance(task, n),
            )
    finally:
        bus.close()
        store.close()
    if as_json:
        emit_json(result.to_dict())
        return
    forms = ", ".join(f"{kind} {n:,}" for kind, n in sorted(result.stats.forms.items())) or "none"
    click.echo(f"rebuilt from {result.records:,} records in {result.seconds:.1f}s: applied {result.stats.consumed:,}, "
               f"forms {forms}")
    for table, rows in result.counts.items():
        click.echo(f"  {table:<24} {rows:>10,} rows (was {result.cleared.get(table, 0):,})")
