"""``exchange users``: staff accounts of the web app (role, grids, password hashed with argon2id)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from exchange.cli.main import cli, emit_json, settings_from
from exchange.passwords import password_problem
from exchange.state import StateStore
from exchange.state.users import ROLES, StaffUser, add_user, disable_user, list_users

data_dir_option = click.option("--data-dir", type=click.Path(path_type=Path), help="Data folder (EXCHANGE_DATA_DIR).")


def _store(data_dir: Path | None) -> StateStore:
    store = StateStore(settings_from(data_dir).state_url)
    store.create_schema()
    return store


def _line(user: StaffUser) -> str:
    created = datetime.fromtimestamp(user.created_at / 1000, UTC).isoformat(timespec="seconds")
    state = "disabled" if user.disabled else "active"
    grids = ",".join(user.grids) or "(all)"
    return f"{user.username:<20} {user.role:<17} {state:<9} {grids:<40} {created}  {user.display_name}"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")

    def check(value: str) -> str:
        if problem := password_problem(value):
            raise click.BadParameter(problem)
        return value

    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, value_proc=check))


@cli.group()
def users() -> None:
    """Staff accounts of the web app: each has a role and the grids it serves."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the account may do.")
@click.option("--grid", "grids", multiple=True, metavar="CODE",
              help="A grid code, or a village code covering its grids (repeatable; a county operator needs none).")
@click.option("--name", "display_name", help="Name shown in the app (default: the username).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@data_dir_option
def users_add(username: str, role: str, grids: tuple[str, ...], display_name: str | None, password_stdin: bool,
              data_dir: Path | None) -> None:
    """Create the account USERNAME; the password is asked twice (or read with --password-stdin)."""
    password = _read_password(password_stdin)
    store = _store(data_dir)
    try:
        with store.transaction() as conn:
            user = add_user(conn, username, password, role, list(grids), display_name)
    finally:
        store.close()
    click.echo(f"added {user.username} ({user.role}, grids {', '.join(user.grids) or 'all'})")


@users.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def users_list(data_dir: Path | None, as_json: bool) -> None:
    """Every account with its role, grids and state (never a password hash)."""
    store = _store(data_dir)
    try:
        with store.engine.connect() as conn:
            found = list_users(conn)
    finally:
        store.close()
    if as_json:
        emit_json([u.to_dict() for u in found])
        return
    for user in found:
        click.echo(_line(user))


@users.command("disable")
@click.argument("username")
@data_dir_option
def users_disable(username: str, data_dir: Path | None) -> None:
    """Disable USERNAME: it cannot sign in, and its open sessions end."""
    store = _store(data_dir)
    try:
        with store.transaction() as conn:
            user = disable_user(conn, username)
    finally:
        store.close()
    click.echo(f"disabled {user.username}")
