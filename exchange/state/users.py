"""Staff accounts: who signs in to the web app, with which role, for which grids.

Scope: an account holds a list of division codes. A form is in scope when its grid code equals or starts
with one of them, so a grid worker holds grid codes (14 digits: village code + grid number) and a village
reviewer may hold the 12-digit village code to cover every grid of the village. A county operator sees
every form whatever codes the account holds.

Passwords are kept as argon2id hashes only (exchange.passwords). The table survives ``exchange rebuild``:
accounts are not derived from the topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Connection, Row, String, Table, select, update
from sqlalchemy.exc import IntegrityError

from exchange.clock import now_ms
from exchange.errors import AccountError
from exchange.passwords import hash_password, needs_rehash, password_problem, verify_password
from exchange.state.tables import Json, metadata

GRID_WORKER, VILLAGE_REVIEWER, COUNTY_OPERATOR = "grid_worker", "village_reviewer", "county_operator"
ROLES = (GRID_WORKER, VILLAGE_REVIEWER, COUNTY_OPERATOR)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_DIVISION_CODE = re.compile(r"^[0-9]{6,20}$")

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True, doc="Lower-case login name; recorded as the actor."),
    Column("display_name", String(128), nullable=False),
    Column("password_hash", String(255), nullable=False, doc="argon2id PHC string."),
    Column("role", String(32), nullable=False, doc="grid_worker, village_reviewer or county_operator."),
    Column("grids", Json, nullable=False, doc="Division codes in scope: grid codes or a village code prefix."),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
    info={"rebuild": "keep"},
)


@dataclass(frozen=True, slots=True)
class StaffUser:
    """One staff account, without its password hash."""

    username: str
    display_name: str
    role: str
    grids: tuple[str, ...]
    disabled: bool
    created_at: int

    @property
    def sees_every_grid(self) -> bool:
        return self.role == COUNTY_OPERATOR

    def grid_scope(self) -> tuple[str, ...] | None:
        """The division-code prefixes of the forms this account may see; None for every form."""
        return None if self.sees_every_grid else self.grids

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "role": self.role,
                "grids": list(self.grids), "disabled": self.disabled, "created_at": self.created_at}


def _user(row: Row[Any]) -> StaffUser:
    return StaffUser(row.username, row.display_name, row.role, tuple(row.grids), bool(row.disabled), row.created_at)


def add_user(conn: Connection, username: str, password: str, role: str, grids: list[str],
             display_name: str | None = None) -> StaffUser:
    """Create an account; AccountError for a taken or malformed name, unknown role, bad code or weak password."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError(f"username {username!r}: 2-64 of a-z, 0-9, '.', '_' or '-', starting with a letter "
                           "or digit")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    codes = list(dict.fromkeys(g.strip() for g in grids))
    if bad := [g for g in codes if not _DIVISION_CODE.match(g)]:
        raise AccountError(f"not a grid or division code: {', '.join(bad)}")
    if not codes and role != COUNTY_OPERATOR:
        raise AccountError(f"a {role} needs at least one --grid")
    if problem := password_problem(password):
        raise AccountError(problem)
    row = {"username": username, "display_name": (display_name or "").strip() or username,
           "password_hash": hash_password(password), "role": role, "grids": codes, "disabled": False,
           "created_at": now_ms()}
    try:  # the caller's transaction rolls back with the error
        conn.execute(users.insert().values(**row))
    except IntegrityError as exc:
        raise AccountError(f"user {username!r} exists already") from exc
    return StaffUser(username, row["display_name"], role, tuple(codes), False, row["created_at"])


def get_user(conn: Connection, username: str) -> StaffUser | None:
    row = conn.execute(select(users).where(users.c.username == username.strip().lower())).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[StaffUser]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def disable_user(conn: Connection, username: str) -> StaffUser:
    """Disable an account: it cannot sign in, and its open sessions stop working. AccountError if unknown."""
    done = conn.execute(update(users).where(users.c.username == username.strip().lower()).values(disabled=True))
    if done.rowcount == 0:
        raise AccountError(f"no user {username!r}")
    found = get_user(conn, username)
    assert found is not None
    return found


def authenticate(conn: Connection, username: str, password: str) -> StaffUser | None:
    """The enabled account ``username`` if ``password`` is right, else None.

    Unknown, disabled and wrong-password attempts all cost one argon2 verify and look the same to callers.
    """
    row = conn.execute(select(users).where(users.c.username == username.strip().lower())).first()
    if not verify_password(row.password_hash if row is not None else None, password):
        return None
    assert row is not None
    if row.disabled:
        return None
    if needs_rehash(row.password_hash):
        conn.execute(update(users).where(users.c.username == row.username)
                     .values(password_hash=hash_password(password)))
    return _user(row)


__all__ = ["COUNTY_OPERATOR", "GRID_WORKER", "ROLES", "VILLAGE_REVIEWER", "StaffUser", "add_user",
           "authenticate", "disable_user", "get_user", "list_users", "users"]
