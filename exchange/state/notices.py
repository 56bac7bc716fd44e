"""The notice outbox: notices are written in the evaluation's transaction, published later, then marked.

A notice's id is deterministic (process, stored entity key, department), so evaluating an entity again
— after a crash, a restart, a rebuild — inserts nothing new: each notice is in the state exactly once.
Publishing is at least once: a crash after the bus acknowledged a notice but before ``sent_at`` was
committed publishes it again with the same id, and consumers drop ids they have seen.

The table is kept by ``exchange rebuild`` (``info={"rebuild": "keep"}``): what was sent to a department
cannot be unsent, and keeping the rows stops a rebuild from sending every notice a second time.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, String, Table, UniqueConstraint, func, select

from exchange.state.bulk import chunks, dialect_insert
from exchange.state.tables import Json, metadata

_NAMESPACE = uuid.UUID("6f1c2f64-8a8e-5b55-9d3c-4c1e0d6b1a90")

notices = Table(
    "notices",
    metadata,
    Column("id", String(36), primary_key=True, doc="uuid5 of process, stored entity key and department."),
    Column("process_id", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_key", String(64), nullable=False, doc="The form's stored key (with its period, if cyclic)."),
    Column("department", String(64), nullable=False, doc="The receiving department."),
    Column("topic", String(249), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("record", Json, nullable=False, doc="The Notice record without created_at (set from the column)."),
    Column("process_version", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=True, doc="When the bus acknowledged it; NULL while in the outbox."),
    UniqueConstraint("process_id", "entity_key", "department", name="uq_notices_process_entity_department"),
    Index("ix_notices_sent_at", "sent_at"),
    info={"rebuild": "keep"},
)


def notice_id(process_id: str, stored_key: str, department: str) -> str:
    """The id of the one notice ``process_id`` sends ``department`` about ``stored_key``."""
    return str(uuid.uuid5(_NAMESPACE, f"{process_id}\x1f{stored_key}\x1f{department}"))


def write_notices(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert the notices not yet in the state (others are left untouched); the number inserted."""
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    known: set[str] = set()
    for chunk in chunks(ids):
        known.update(r[0] for r in conn.execute(select(notices.c.id).where(notices.c.id.in_(chunk))))
    fresh = {r["id"]: r for r in rows if r["id"] not in known}
    if fresh:
        # ON CONFLICT DO NOTHING too: a concurrent mediator may insert the same notice meanwhile.
        conn.execute(dialect_insert(conn, notices).on_conflict_do_nothing(index_elements=["id"]),
                     list(fresh.values()))
    return len(fresh)


def unsent(conn: Connection, limit: int) -> list[Any]:
    """Up to ``limit`` notices not yet acknowledged by the bus, oldest first (locked on PostgreSQL, so
    two mediators do not publish the same ones at once)."""
    query = select(notices).where(notices.c.sent_at.is_(None)).order_by(notices.c.created_at, notices.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query.limit(limit)))


def mark_sent(conn: Connection, ids: list[str], now: int) -> None:
    for chunk in chunks(ids):
        conn.execute(notices.update().where(notices.c.id.in_(chunk)).values(sent_at=now))


def notice_counts(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """(process, department) → (notices, of which sent)."""
    rows = conn.execute(select(notices.c.process_id, notices.c.department, func.count(), func.count(notices.c.sent_at))
                        .group_by(notices.c.process_id, notices.c.department))
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}
