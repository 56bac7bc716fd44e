"""``exchange schemas list|check|snapshot``: the data standards and their evolution."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from exchange.cli.main import cli, emit_json, settings_from
from exchange.registry.checks import check_all
from exchange.registry.sql_store import sql_registry
from exchange.registry.standards import write_snapshots
from exchange.state import StateStore


@cli.group()
def schemas() -> None:
    """The core data standards (Avro schemas) and the schema registry."""


@schemas.command("list")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (EXCHANGE_DATA_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def schemas_list(data_dir: Path | None, as_json: bool) -> None:
    """Every subject in the registry with its versions, ids and compatibility mode."""
    store = StateStore(settings_from(data_dir).state_url)
    store.create_schema()
    registry = sql_registry(store)
    rows = [
        {"subject": subject, "mode": registry.mode(subject).value,
         "versions": [{"version": v.version, "id": v.id, "schema": v.name} for v in registry.versions(subject)]}
        for subject in registry.subjects()
    ]
    store.close()
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        versions = ", ".join(f"v{v['version']} id={v['id']}" for v in row["versions"])
        click.echo(f"{row['subject']:<46} {row['mode']:<20} {versions}")


@schemas.command("check")
@click.option("--against", "ref", help="Also check against the schema files at this git ref (e.g. origin/main).")
@click.option("--registry", "registry_url", help="Also check against a running registry (e.g. http://host:8000/registry).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def schemas_check(ref: str | None, registry_url: str | None, as_json: bool) -> None:
    """Check every schema file against its earlier versions; exit 1 on any incompatibility."""
    findings = check_all(ref, registry_url)
    failed = [f for f in findings if not f.ok]
    if as_json:
        emit_json([f.__dict__ for f in findings])
    else:
        for finding in failed:
            click.echo(f"INCOMPATIBLE {finding.standard} against {finding.against} ({finding.mode}):")
            for reason in finding.reasons:
                click.echo(f"  - {reason}")
        checked = len({f.standard for f in findings})
        click.echo(f"{'FAILED' if failed else 'ok'}: {checked} schemas checked, {len(failed)} incompatible")
    if failed:
        sys.exit(1)


@schemas.command("snapshot")
def schemas_snapshot() -> None:
    """Keep each current schema version in schemas/avro/history/ (run when releasing a new version)."""
    written = write_snapshots()
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo("every current version is already kept")
