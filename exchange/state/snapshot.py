"""A canonical snapshot of the mediator's state, for comparing two stores row by row.

Two runs over the same records (a clean run and one killed mid-batch, a live store and a rebuild)
must leave the same state; only what depends on *when* or *by which process* the work happened may
differ. The snapshot keeps every row of every table in ``metadata`` except:

- bookkeeping tables (``BOOKKEEPING``): consumer offsets, checkpoints, processed files, the schema
  registry, API keys and the evaluation queue say how far a process got, not what it concluded;
- volatile columns: surrogate ``id`` columns holding a uuid4, ``at`` and every ``*_at`` column, ``since``
  / ``ingest_time`` (wall-clock times of the run; the records' own ``event_time`` and
  ``received_time`` stay, they come from the topics);
- a value that is the uuid of a row of a table with a natural unique key (a ``form_id`` in another
  table, or in a JSON document) is replaced by that key, e.g. ``forms:(process, entity key)``, so
  references compare by what they point at.

Tables added later (notices, form history, feedback) are included without changes here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from sqlalchemy import Connection, Table, UniqueConstraint, select

from exchange.state.tables import metadata

BOOKKEEPING = frozenset({
    "consumer_offsets", "checkpoints", "processed_files", "pending_evaluations",
    "registry_schemas", "registry_versions", "registry_config", "api_keys",
})
VOLATILE_NAMES = frozenset({"at", "since", "ingest_time"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Snapshot = dict[str, list[str]]


def snapshot_tables() -> list[Table]:
    """The tables a snapshot covers: every table of the metadata except the bookkeeping ones."""
    return [t for t in metadata.sorted_tables if t.name not in BOOKKEEPING]


def is_volatile(column_name: str) -> bool:
    return column_name == "id" or column_name.endswith("_at") or column_name in VOLATILE_NAMES


def _natural_keys(conn: Connection, tables: list[Table]) -> dict[str, str]:
    """uuid id → "table:[unique key values]" for tables with a string ``id`` and a unique constraint."""
    names: dict[str, str] = {}
    for table in tables:
        unique = next((c for c in table.constraints if isinstance(c, UniqueConstraint)), None)
        if "id" not in table.c or unique is None:
            continue
        key_columns = [table.c[c.name] for c in unique.columns]
        for row in conn.execute(select(table.c.id, *key_columns)):
            if isinstance(row[0], str) and _UUID.match(row[0]):
                names[row[0]] = f"{table.name}:{json.dumps(list(row[1:]), ensure_ascii=False, default=str)}"
    return names


def _canonical(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, "<uuid>" if _UUID.match(value) else value)
    if isinstance(value, dict):
        return {k: _canonical(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, names) for v in value]
    return value


def take_snapshot(conn: Connection) -> Snapshot:
    """Every covered table as a sorted list of canonical JSON rows (volatile columns left out)."""
    tables = [t for t in snapshot_tables() if conn.dialect.has_table(conn, t.name)]
    names = _natural_keys(conn, tables)
    snapshot: Snapshot = {}
    for table in tables:
        columns = [c for c in table.columns if not is_volatile(c.name)]
        rows = conn.execute(select(*columns))
        snapshot[table.name] = sorted(
            json.dumps({c.name: _canonical(v, names) for c, v in zip(columns, row, strict=True)},
                       sort_keys=True, ensure_ascii=False, default=str)
            for row in rows
        )
    return snapshot


def duplicate_rows(snapshot: Snapshot) -> dict[str, list[str]]:
    """Rows that occur more than once in a table (a duplicate form or notice), per table."""
    found = {}
    for table, rows in snapshot.items():
        repeated = [row for row, n in Counter(rows).items() if n > 1]
        if repeated:
            found[table] = repeated
    return found


def differences(left: Snapshot, right: Snapshot, limit: int = 5) -> dict[str, dict[str, Any]]:
    """Per table: row counts and a few rows only in ``left`` or only in ``right`` (for assertion messages)."""
    report = {}
    for table in sorted(set(left) | set(right)):
        a, b = Counter(left.get(table, [])), Counter(right.get(table, []))
        if a != b:
            report[table] = {"left_rows": sum(a.values()), "right_rows": sum(b.values()),
                             "only_left": list((a - b).elements())[:limit],
                             "only_right": list((b - a).elements())[:limit]}
    return report
