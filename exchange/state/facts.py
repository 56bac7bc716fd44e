"""Reading and writing entity facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from exchange.entities import EntityView, Fact
from exchange.state.bulk import bulk_upsert, chunks, dialect_insert
from exchange.state.tables import entity_facts, pending_evaluations

FACT_KEY = ["entity_type", "entity_key", "record_type", "fact_key", "department"]


def load_views(conn: Connection, entity_type: str, keys: Iterable[str]) -> dict[str, EntityView]:
    """The view of each entity in ``keys`` (empty views for entities with no facts yet)."""
    wanted = sorted(set(keys))
    views = {key: EntityView(entity_type, key) for key in wanted}
    for chunk in chunks(wanted):
        rows = conn.execute(
            select(entity_facts).where(
                entity_facts.c.entity_type == entity_type, entity_facts.c.entity_key.in_(chunk)
            )
        )
        for r in rows:
            views[r.entity_key].facts.append(
                Fact(r.entity_type, r.entity_key, r.record_type, r.fact_key, r.department, r.source_record_id,
                     r.event_time, r.received_time, r.payload, r.deleted)
            )
    return views


def write_facts(conn: Connection, facts: list[Fact]) -> None:
    bulk_upsert(conn, entity_facts, [f.as_row() for f in facts], FACT_KEY)


def entity_keys(conn: Connection, entity_type: str) -> list[str]:
    """Every entity of ``entity_type`` with at least one fact."""
    rows = conn.execute(
        select(entity_facts.c.entity_key).where(entity_facts.c.entity_type == entity_type).distinct()
    )
    return [r[0] for r in rows]


def entity_keys_after(conn: Connection, entity_type: str, after: str, limit: int) -> list[str]:
    """Up to ``limit`` entities of ``entity_type`` whose key sorts after ``after``, in key order (a page
    of a walk over every entity that holds one page in memory at a time)."""
    rows = conn.execute(
        select(entity_facts.c.entity_key).where(entity_facts.c.entity_type == entity_type,
                                                entity_facts.c.entity_key > after)
        .distinct().order_by(entity_facts.c.entity_key).limit(limit)
    )
    return [r[0] for r in rows]


def group_by_entity(facts: Iterable[Fact]) -> dict[tuple[str, str], list[Fact]]:
    grouped: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.entity_type, fact.entity_key)].append(fact)
    return grouped


def mark_pending(conn: Connection, facts: Iterable[Fact], now: int) -> None:
    """Remember that these facts' entities need their processes re-evaluated (survives a crash)."""
    oldest: dict[tuple[str, str], int] = {}
    for fact in facts:
        key = (fact.entity_type, fact.entity_key)
        oldest[key] = min(oldest.get(key, fact.received_time), fact.received_time)
    mark_entities_pending(conn, oldest, now)


def mark_entities_pending(conn: Connection, oldest: dict[tuple[str, str], int], now: int) -> None:
    """Queue each (entity type, key) of ``oldest`` for evaluation, with the oldest ingest time waiting."""
    if not oldest:
        return
    rows = [{"entity_type": t, "entity_key": k, "since": now, "ingest_time": i} for (t, k), i in oldest.items()]
    stmt = dialect_insert(conn, pending_evaluations)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["entity_type", "entity_key"]), rows)


def take_pending(conn: Connection, limit: int) -> list[tuple[str, str, int]]:
    """Up to ``limit`` waiting entities as (type, key, oldest ingest time), removed from the queue.

    Called inside the transaction that stores their evaluation, so a crash puts them back.
    """
    rows = conn.execute(
        select(pending_evaluations.c.entity_type, pending_evaluations.c.entity_key, pending_evaluations.c.ingest_time)
        .order_by(pending_evaluations.c.since).limit(limit)
    ).all()
    for entity_type in {r[0] for r in rows}:
        keys = [r[1] for r in rows if r[0] == entity_type]
        for chunk in chunks(keys):
            conn.execute(pending_evaluations.delete().where(
                pending_evaluations.c.entity_type == entity_type, pending_evaluations.c.entity_key.in_(chunk)))
    return [(r[0], r[1], r[2]) for r in rows]


def oldest_pending(conn: Connection) -> int | None:
    """When the longest-waiting entity started waiting (epoch ms), or None when none waits."""
    return conn.execute(select(func.min(pending_evaluations.c.since))).scalar_one_or_none()
