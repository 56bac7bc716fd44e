"""Reading and writing entity facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, select

from exchange.entities import EntityView, Fact
from exchange.state.bulk import bulk_upsert, chunks
from exchange.state.tables import entity_facts

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


def group_by_entity(facts: Iterable[Fact]) -> dict[tuple[str, str], list[Fact]]:
    grouped: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    for fact in facts:
        grouped[(fact.entity_type, fact.entity_key)].append(fact)
    return grouped
