"""Staff accounts: argon2 hashing, the users table on both stores, and `exchange users add|list|disable`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from exchange.cli import cli
from exchange.errors import AccountError
from exchange.passwords import hash_password, verify_password
from exchange.rebuild import derived_tables
from exchange.state import StateStore
from exchange.state.forms import list_forms
from exchange.state.tables import forms
from exchange.state.users import add_user, authenticate, disable_user, get_user, list_users, users

GRID = "53012400100101"


def test_passwords_are_argon2id_hashes_that_verify_only_the_right_password() -> None:
    """A hash is an argon2id PHC string with its own salt; only the original password verifies."""
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, "correct horse")
    assert not verify_password(first, "correct horsE")
    assert not verify_password("not a hash", "correct horse")


def test_an_unknown_account_still_costs_a_verify_and_fails() -> None:
    """verify_password(None, ...) checks against a dummy hash and is never true, whatever the password."""
    assert not verify_password(None, "not a password of anyone: timing equaliser")
    assert not verify_password(None, "")


def test_accounts_on_every_store(store: StateStore) -> None:
    """Add, find, authenticate and disable an account; the hash is stored, never the password."""
    with store.transaction() as conn:
        added = add_user(conn, " Wang.Fang ", "s3cret-pass", "grid_worker", [GRID, GRID], "王芳")
    assert (added.username, added.display_name, added.grids) == ("wang.fang", "王芳", (GRID,))
    with store.transaction() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$")
        assert "s3cret-pass" not in stored
        assert authenticate(conn, "WANG.FANG", "s3cret-pass") == added
        assert authenticate(conn, "wang.fang", "wrong-pass") is None
        assert authenticate(conn, "nobody", "s3cret-pass") is None
        disable_user(conn, "wang.fang")
        assert authenticate(conn, "wang.fang", "s3cret-pass") is None
        assert get_user(conn, "wang.fang").disabled  # type: ignore[union-attr]
        assert [u.username for u in list_users(conn)] == ["wang.fang"]


@pytest.mark.parametrize(("username", "password", "role", "grids", "message"), [
    ("wang", "s3cret-pass", "mayor", [GRID], "unknown role"),
    ("wang", "short", "grid_worker", [GRID], "at least 8"),
    ("wang", "s3cret-pass", "grid_worker", [], "needs at least one --grid"),
    ("wang", "s3cret-pass", "grid_worker", ["grid-1"], "not a grid or division code"),
    ("王芳", "s3cret-pass", "grid_worker", [GRID], "username"),
])
def test_bad_accounts_are_refused(sqlite_store: StateStore, username: str, password: str, role: str,
                                  grids: list[str], message: str) -> None:
    """Each malformed account is refused with an AccountError saying what is wrong."""
    with pytest.raises(AccountError, match=message), sqlite_store.transaction() as conn:
        add_user(conn, username, password, role, grids)


def test_a_username_is_taken_once(store: StateStore) -> None:
    """A second account of the same (case-folded) name is refused and the first one stays."""
    with store.transaction() as conn:
        add_user(conn, "wang", "s3cret-pass", "grid_worker", [GRID])
    with pytest.raises(AccountError, match="exists already"), store.transaction() as conn:
        add_user(conn, "WANG", "other-pass", "county_operator", [])
    with store.engine.connect() as conn:
        assert [(u.username, u.role) for u in list_users(conn)] == [("wang", "grid_worker")]


def test_grid_scope_matches_grid_codes_and_village_prefixes(sqlite_store: StateStore) -> None:
    """A village code covers every grid of the village; an empty scope sees nothing; LIKE wildcards are literal."""
    rows = [{"id": f"f{i}", "process_id": "p", "entity_type": "person", "entity_key": f"k{i}",
             "status": "pending_review", "grid_code": grid, "fields": [], "manual_fields": [], "conflicts": [],
             "prefilled_count": 0, "manual_count": 0, "digest": "d", "revision": 1, "created_at": i, "updated_at": i}
            for i, grid in enumerate(["53012400100101", "53012400100102", "53012400200101"])]
    with sqlite_store.transaction() as conn:
        conn.execute(forms.insert(), rows)
        ids = lambda scope: [f["id"] for f in list_forms(conn, grid_prefixes=scope)[1]]  # noqa: E731
        assert ids(["53012400100101"]) == ["f0"]
        assert ids(["530124001001"]) == ["f0", "f1"]
        assert ids([]) == []
        assert ids(["5301240010%"]) == []
        assert ids(None) == ["f0", "f1", "f2"]


def test_accounts_survive_a_rebuild() -> None:
    """The users table is not derived from the topics, so `exchange rebuild` keeps it."""
    assert users not in derived_tables()


def exchange_users(data_dir: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["users", *args, "--data-dir", str(data_dir)], input=stdin)
    return result.exit_code, result.output


def test_cli_adds_lists_and_disables_accounts(tmp_path: Path) -> None:
    """`users add --password-stdin`, `users list --json` and `users disable` manage accounts without hashes."""
    code, out = exchange_users(tmp_path, "add", "wang", "--role", "grid_worker", "--grid", GRID, "--grid",
                               "53012400100102", "--name", "王芳", "--password-stdin", stdin="s3cret-pass\n")
    assert code == 0, out
    code, out = exchange_users(tmp_path, "add", "li", "--role", "county_operator", "--password-stdin",
                               stdin="other-pass\n")
    assert code == 0, out
    code, out = exchange_users(tmp_path, "disable", "li")
    assert (code, out.strip()) == (0, "disabled li")
    code, out = exchange_users(tmp_path, "list", "--json")
    listed = {u["username"]: u for u in json.loads(out)}
    assert listed["wang"] | {"created_at": 0} == {"username": "wang", "display_name": "王芳", "role": "grid_worker",
                                                  "grids": [GRID, "53012400100102"], "disabled": False,
                                                  "created_at": 0}
    assert listed["li"]["disabled"] is True
    assert "argon2" not in out
    assert "s3cret" not in out
    code, out = exchange_users(tmp_path, "list")
    assert "wang" in out
    assert "disabled" in out


def test_cli_prompts_for_the_password_twice(tmp_path: Path) -> None:
    """Without --password-stdin the password is asked with confirmation; a mismatch is asked again."""
    code, out = exchange_users(tmp_path, "add", "wang", "--role", "village_reviewer", "--grid", "530124001001",
                               stdin="s3cret-pass\nother-pass\ns3cret-pass\ns3cret-pass\n")
    assert code == 0, out
    assert "do not match" in out
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    with store.engine.connect() as conn:
        assert authenticate(conn, "wang", "s3cret-pass") is not None
    store.close()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    """A weak password, a duplicate and an unknown user exit 1 with a message, not a traceback."""
    assert exchange_users(tmp_path, "add", "wang", "--role", "grid_worker", "--grid", GRID, "--password-stdin",
                          stdin="short\n") == (1, "error: a password needs at least 8 characters\n")
    code, out = exchange_users(tmp_path, "disable", "nobody")
    assert (code, out) == (1, "error: no user 'nobody'\n")
