"""Storing form instances and reading them back for the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from exchange.entities import iso_ms
from exchange.processes.engine import FormDraft
from exchange.state.bulk import chunks
from exchange.state.tables import forms

PENDING = "pending_review"
CONFIRMED = "confirmed"
REJECTED = "rejected"
SUPERSEDED = "superseded"
STATUSES = (PENDING, CONFIRMED, REJECTED, SUPERSEDED)


@dataclass(frozen=True, slots=True)
class FormChange:
    """What storing one evaluation did: ``created``, ``updated``, ``superseded``, ``reopened``."""

    kind: str
    process_id: str
    draft: FormDraft | None


def _stored(conn: Connection, process_id: str, keys: list[str]) -> dict[str, Any]:
    found = {}
    for chunk in chunks(keys):
        rows = conn.execute(
            select(forms.c.id, forms.c.entity_key, forms.c.status, forms.c.digest, forms.c.revision).where(
                forms.c.process_id == process_id, forms.c.entity_key.in_(chunk)
            )
        )
        found.update({r.entity_key: r for r in rows})
    return found


def _content(draft: FormDraft) -> dict[str, Any]:
    return {
        "title": draft.title,
        "grid_code": draft.grid_code,
        "division_code": draft.division_code,
        "fields": draft.fields,
        "manual_fields": draft.manual_fields,
        "conflicts": draft.conflicts,
        "prefilled_count": draft.prefilled_count,
        "manual_count": draft.manual_count,
        "digest": draft.digest(),
    }


def store_evaluations(
    conn: Connection, process_id: str, entity_type: str, results: dict[str, FormDraft | None], now: int
) -> list[FormChange]:
    """Create, update, supersede or reopen the forms of ``process_id`` for the evaluated entities.

    Unchanged inputs (same digest) change nothing, so re-processing a record is a no-op here too.
    Confirmed and rejected forms are staff decisions and are never rewritten by new data.
    """
    stored = _stored(conn, process_id, sorted(results))
    changes: list[FormChange] = []
    inserts: list[dict[str, Any]] = []
    for key, draft in results.items():
        row = stored.get(key)
        if draft is None:
            if row is not None and row.status == PENDING:
                conn.execute(forms.update().where(forms.c.id == row.id).values(
                    status=SUPERSEDED, status_reason="trigger no longer holds", updated_at=now,
                    revision=row.revision + 1))
                changes.append(FormChange("superseded", process_id, None))
            continue
        if row is None:
            inserts.append({"id": str(uuid.uuid4()), "process_id": process_id, "entity_type": entity_type,
                            "entity_key": key, "status": PENDING, "status_reason": None, "revision": 1,
                            "created_at": now, "updated_at": now, **_content(draft)})
            changes.append(FormChange("created", process_id, draft))
        elif row.status == SUPERSEDED:
            conn.execute(forms.update().where(forms.c.id == row.id).values(
                status=PENDING, status_reason=None, updated_at=now, revision=row.revision + 1, **_content(draft)))
            changes.append(FormChange("reopened", process_id, draft))
        elif row.status == PENDING and row.digest != draft.digest():
            conn.execute(forms.update().where(forms.c.id == row.id).values(
                updated_at=now, revision=row.revision + 1, **_content(draft)))
            changes.append(FormChange("updated", process_id, draft))
    if inserts:
        conn.execute(forms.insert(), inserts)
    return changes


def form_to_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "process": row.process_id,
        "title": row.title,
        "status": row.status,
        "status_reason": row.status_reason,
        "entity": {"type": row.entity_type, "key": row.entity_key},
        "grid_code": row.grid_code,
        "division_code": row.division_code,
        "fields": row.fields,
        "manual_fields": row.manual_fields,
        "conflicts": row.conflicts,
        "prefilled_count": row.prefilled_count,
        "manual_count": row.manual_count,
        "revision": row.revision,
        "created_at": iso_ms(row.created_at),
        "updated_at": iso_ms(row.updated_at),
    }


def list_forms(
    conn: Connection,
    *,
    process: str | None = None,
    status: str | None = None,
    grids: Iterable[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching forms and one page of them, oldest first."""
    query = select(forms)
    if process:
        query = query.where(forms.c.process_id == process)
    if status:
        query = query.where(forms.c.status == status)
    if grids is not None:
        query = query.where(forms.c.grid_code.in_(list(grids)))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(forms.c.created_at, forms.c.id).limit(limit).offset(offset))
    return total, [form_to_dict(r) for r in rows]


def get_form(conn: Connection, form_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(forms).where(forms.c.id == form_id)).first()
    return None if row is None else form_to_dict(row)


def form_counts(conn: Connection) -> list[tuple[str, str, int, int, int]]:
    """Per process and status: number of forms, fields pre-filled, fields left to staff."""
    rows = conn.execute(
        select(forms.c.process_id, forms.c.status, func.count(), func.coalesce(func.sum(forms.c.prefilled_count), 0),
               func.coalesce(func.sum(forms.c.manual_count), 0))
        .group_by(forms.c.process_id, forms.c.status)
    )
    return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]
