"""Which households a resident belongs to: an index of ``household_member`` facts, kept with them.

A household's view holds its members (one ``household_member`` fact each); this table answers the
reverse question in SQL — which households must be re-evaluated when a resident's facts change —
without scanning every membership. Former members stay in it: a member who died still matters to
the household's processes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Connection, Index, String, Table, select, tuple_

from exchange.entities import Fact
from exchange.state.bulk import chunks, dialect_insert
from exchange.state.tables import entity_facts, metadata

MEMBERSHIP = "household_member"

household_memberships = Table(
    "household_memberships",
    metadata,
    Column("resident_id", String(64), primary_key=True),
    Column("household_id", String(64), primary_key=True),
    Index("ix_household_memberships_household", "household_id"),
)


def write_memberships(conn: Connection, facts: Iterable[Fact]) -> None:
    """Index the membership facts among ``facts`` (a tombstone removes the entry)."""
    members = [f for f in facts if f.entity_type == "household" and f.record_type == MEMBERSHIP]
    removed = [(f.fact_key, f.entity_key) for f in members if f.deleted]
    added = sorted({(f.fact_key, f.entity_key) for f in members if not f.deleted} - set(removed))
    for chunk in chunks(removed):
        conn.execute(household_memberships.delete().where(
            tuple_(household_memberships.c.resident_id, household_memberships.c.household_id).in_(list(chunk))))
    if added:
        stmt = dialect_insert(conn, household_memberships).on_conflict_do_nothing()
        conn.execute(stmt, [{"resident_id": r, "household_id": h} for r, h in added])


def households_of(conn: Connection, resident_ids: Iterable[str]) -> dict[str, set[str]]:
    """Household number → the residents among ``resident_ids`` listed as its members."""
    found: dict[str, set[str]] = {}
    for chunk in chunks(sorted(set(resident_ids))):
        rows = conn.execute(select(household_memberships).where(household_memberships.c.resident_id.in_(chunk)))
        for r in rows:
            found.setdefault(r.household_id, set()).add(r.resident_id)
    return found


def backfill_memberships(conn: Connection) -> int:
    """Fill an empty index from the stored membership facts (a store made before the index); the count."""
    if conn.execute(select(household_memberships.c.resident_id).limit(1)).first() is not None:
        return 0
    facts = select(entity_facts.c.fact_key, entity_facts.c.entity_key).where(
        entity_facts.c.entity_type == "household", entity_facts.c.record_type == MEMBERSHIP,
        entity_facts.c.deleted.is_(False))
    # INSERT ... SELECT: the copy stays in the database, however many memberships there are.
    result = conn.execute(household_memberships.insert().from_select(["resident_id", "household_id"], facts))
    return int(result.rowcount or 0)
