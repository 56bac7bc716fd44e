"""Bulk upserts and chunked IN-queries that work on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# SQLite allows 32,766 bound parameters; PostgreSQL 65,535. Stay well below both.
IN_CHUNK = 500


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT for ``table`` with the dialect's ON CONFLICT clauses (SQLite and PostgreSQL)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are not implemented for {dialect}")


def bulk_upsert(conn: Connection, table: Table, rows: list[dict[str, Any]], key: list[str]) -> None:
    """Insert ``rows``, replacing the non-key columns of rows whose ``key`` already exists."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=update), rows)
