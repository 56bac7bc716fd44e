"""``exchange keys``: API keys departments push records with (``POST /api/push/...``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from exchange.cli.main import cli, emit_json, settings_from
from exchange.push.keys import ApiKey, create_key, list_keys, revoke_key
from exchange.state import StateStore

data_dir_option = click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (EXCHANGE_DATA_DIR).")


def _store(data_dir: Path | None) -> StateStore:
    store = StateStore(settings_from(data_dir).state_url)
    store.create_schema()
    return store


def _when(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _line(key: ApiKey) -> str:
    state = f"revoked {_when(key.revoked_at)}" if key.revoked else "active"
    return f"{key.id:>4}  {key.department:<32} {state:<30} created {_when(key.created_at)}  {key.label or ''}"


@cli.group()
def keys() -> None:
    """API keys for pushing records over HTTP (stored hashed; a key is shown once)."""


@keys.command("create")
@click.argument("department")
@click.option("--label", help="What the key is for (e.g. the system or person using it).")
@data_dir_option
def keys_create(department: str, label: str | None, data_dir: Path | None) -> None:
    """Issue a key for DEPARTMENT (e.g. civil-affairs) and print it; it cannot be shown again."""
    store = _store(data_dir)
    try:
        key, secret = create_key(store, department, label)
    finally:
        store.close()
    click.echo(f"API key {key.id} for {key.department} (shown once, keep it safe):", err=True)
    click.echo(secret)


@keys.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def keys_list(data_dir: Path | None, as_json: bool) -> None:
    """Issued keys, without their secrets."""
    store = _store(data_dir)
    try:
        found = list_keys(store)
    finally:
        store.close()
    if as_json:
        emit_json([key.to_dict() for key in found])
        return
    for key in found:
        click.echo(_line(key))


@keys.command("revoke")
@click.argument("key_id", metavar="ID", type=int)
@data_dir_option
def keys_revoke(key_id: int, data_dir: Path | None) -> None:
    """Revoke key ID: pushes with it are refused from now on."""
    store = _store(data_dir)
    try:
        key = revoke_key(store, key_id)
    finally:
        store.close()
    click.echo(f"revoked key {key.id} of {key.department}")
