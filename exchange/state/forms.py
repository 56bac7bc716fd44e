"""Storing form instances and reading them back for the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, false, func, or_, select

from exchange.entities import iso_ms
from exchange.state.bulk import chunks
from exchange.state.form_diff import form_diff
from exchange.state.form_history import history_entry, write_history
from exchange.state.tables import forms

if TYPE_CHECKING:  # only the shape of a draft is used here; the engine imports nothing of the state store
    from exchange.processes.engine import FormDraft

PENDING = "pending_review"
CONFIRMED = "confirmed"
CORRECTED = "corrected"  # confirmed, with staff corrections of pre-filled values
REJECTED = "rejected"
SUPERSEDED = "superseded"
STATUSES = (PENDING, CONFIRMED, CORRECTED, REJECTED, SUPERSEDED)
REVIEWED = (CONFIRMED, CORRECTED, REJECTED)


@dataclass(frozen=True, slots=True)
class FormChange:
    """What storing one evaluation did: ``created``, ``updated``, ``superseded``, ``reopened``."""

    kind: str
    process_id: str
    draft: FormDraft | None
    form_id: str | None = None


_LIGHT = (forms.c.id, forms.c.entity_key, forms.c.status, forms.c.digest, forms.c.revision)
_CONTENT = (forms.c.id, forms.c.fields, forms.c.conflicts, forms.c.grid_code, forms.c.manual_fields)


def _stored(conn: Connection, process_id: str, keys: list[str]) -> dict[str, Any]:
    found = {}
    for chunk in chunks(keys):
        rows = conn.execute(select(*_LIGHT).where(forms.c.process_id == process_id, forms.c.entity_key.in_(chunk)))
        found.update({r.entity_key: r for r in rows})
    return found


def _contents(conn: Connection, ids: list[str]) -> dict[str, Any]:
    """The stored content of forms about to be diffed (only those whose inputs changed are loaded)."""
    found = {}
    for chunk in chunks(ids):
        found.update({r.id: r for r in conn.execute(select(*_CONTENT).where(forms.c.id.in_(chunk)))})
    return found


def _content(draft: FormDraft, digest: str) -> dict[str, Any]:
    return {
        "title": draft.title,
        "grid_code": draft.grid_code,
        "division_code": draft.division_code,
        "fields": draft.fields,
        "manual_fields": draft.manual_fields,
        "conflicts": draft.conflicts,
        "prefilled_count": draft.prefilled_count,
        "manual_count": draft.manual_count,
        "digest": digest,
    }


def _diff(stored: Any, draft: FormDraft) -> list[dict[str, Any]]:
    return form_diff(stored.fields, draft.fields, old_conflicts=stored.conflicts, new_conflicts=draft.conflicts,
                     old_grid=stored.grid_code, new_grid=draft.grid_code)


def _carried_manual(stored: Any, draft: FormDraft) -> list[dict[str, Any]]:
    """The draft's manual fields holding the values staff gave at the last review (still to be confirmed)."""
    given = {m["name"]: m.get("value") for m in stored.manual_fields or []}
    return [m | {"value": given.get(m["name"])} for m in draft.manual_fields]


def _update(conn: Connection, form_id: str, **values: Any) -> None:
    conn.execute(forms.update().where(forms.c.id == form_id).values(**values))


def store_evaluations(
    conn: Connection, process_id: str, entity_type: str, results: dict[str, FormDraft | None], now: int
) -> list[FormChange]:
    """Create, update, supersede or reopen the forms of ``process_id`` for the evaluated entities.

    Unchanged inputs (same digest) change nothing, so re-processing a record is a no-op here too. A
    pending form follows its inputs in place. A reviewed (confirmed, corrected, rejected) form is a staff
    decision: it is never rewritten, but when its inputs change it is superseded and reopened as a new
    pending revision carrying the diff, and the values staff gave stay as suggestions. A reviewed form
    whose trigger stops holding stays as it is (that is usually the review's effect). Every change is
    written to ``form_history``.
    """
    stored = _stored(conn, process_id, sorted(results))
    digests = {key: draft.digest() for key, draft in results.items() if draft is not None}
    contents = _contents(conn, [row.id for key, row in stored.items()
                                if key in digests and (row.digest != digests[key] or row.status == SUPERSEDED)])
    changes: list[FormChange] = []
    inserts: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for key, draft in results.items():
        row = stored.get(key)
        if draft is None:
            if row is not None and row.status == PENDING:
                reason = "trigger no longer holds"
                _update(conn, row.id, status=SUPERSEDED, status_reason=reason, updated_at=now,
                        revision=row.revision + 1)
                history.append(history_entry(row.id, row.revision + 1, now, "superseded", PENDING, SUPERSEDED,
                                             reason=reason))
                changes.append(FormChange("superseded", process_id, None, row.id))
            continue
        digest = digests[key]
        if row is None:
            form_id = str(uuid.uuid4())
            inserts.append({"id": form_id, "process_id": process_id, "entity_type": entity_type, "entity_key": key,
                            "status": PENDING, "status_reason": None, "revision": 1, "created_at": now,
                            "updated_at": now, **_content(draft, digest)})
            history.append(history_entry(form_id, 1, now, "created", None, PENDING))
            changes.append(FormChange("created", process_id, draft, form_id))
        elif row.status == SUPERSEDED:
            before = contents[row.id]
            diff = _diff(before, draft)
            _update(conn, row.id, status=PENDING, status_reason=None, updated_at=now, revision=row.revision + 1,
                    changes=diff, **_content(draft, digest) | {"manual_fields": _carried_manual(before, draft)})
            history.append(history_entry(row.id, row.revision + 1, now, "reopened", SUPERSEDED, PENDING,
                                         changes=diff))
            changes.append(FormChange("reopened", process_id, draft, row.id))
        elif row.digest != digest:
            changes.extend(_follow(conn, row, contents[row.id], draft, digest, now, history))
    if inserts:
        conn.execute(forms.insert(), inserts)
    write_history(conn, history)
    return changes


def _follow(conn: Connection, row: Any, stored: Any, draft: FormDraft, digest: str, now: int,
            history: list[dict[str, Any]]) -> list[FormChange]:
    """New inputs for an existing form: update a pending one; supersede and reopen a reviewed one."""
    diff = _diff(stored, draft)
    if row.status == PENDING:
        if not diff:  # only volatile provenance moved (an age's as-of day): refresh without a new revision
            _update(conn, row.id, **_content(draft, digest))
            return []
        _update(conn, row.id, updated_at=now, revision=row.revision + 1, changes=diff, **_content(draft, digest))
        history.append(history_entry(row.id, row.revision + 1, now, "updated", PENDING, PENDING, changes=diff))
        return [FormChange("updated", draft.process_id, draft, row.id)]
    if row.status not in REVIEWED or not diff:
        return []  # a review stands while nothing it looked at changed
    superseded, reopened = row.revision + 1, row.revision + 2
    reason = "inputs changed after review"
    history.append(history_entry(row.id, superseded, now, "superseded", row.status, SUPERSEDED, reason=reason,
                                 changes=diff))
    history.append(history_entry(row.id, reopened, now, "reopened", SUPERSEDED, PENDING, changes=diff))
    _update(conn, row.id, status=PENDING, status_reason=None, updated_at=now, revision=reopened, changes=diff,
            corrections=None, reviewed_by=None, reviewed_at=None,
            **_content(draft, digest) | {"manual_fields": _carried_manual(stored, draft)})
    return [FormChange("superseded", draft.process_id, None, row.id),
            FormChange("reopened", draft.process_id, draft, row.id)]


def form_to_dict(row: Any) -> dict[str, Any]:
    """A form as the API shows it; ``changes`` is what its latest update or reopening changed."""
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
        "corrections": row.corrections or [],
        "reviewed_by": row.reviewed_by,
        "reviewed_at": None if row.reviewed_at is None else iso_ms(row.reviewed_at),
        "changes": row.changes or [],
        "links": {"history": f"/api/forms/{row.id}/history"},
    }


def list_forms(
    conn: Connection,
    *,
    process: str | None = None,
    status: str | None = None,
    grids: Iterable[str] | None = None,
    grid_prefixes: Iterable[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching forms and one page of them, oldest first.

    ``grids`` keeps forms of exactly those grid codes; ``grid_prefixes`` (a staff account's scope) those
    whose grid code starts with one of the codes (none when empty).
    """
    query = select(forms)
    if process:
        query = query.where(forms.c.process_id == process)
    if status:
        query = query.where(forms.c.status == status)
    if grids is not None:
        query = query.where(forms.c.grid_code.in_(list(grids)))
    if grid_prefixes is not None:
        query = query.where(or_(false(), *(forms.c.grid_code.startswith(p, autoescape=True)
                                           for p in grid_prefixes)))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(forms.c.created_at, forms.c.id).limit(limit).offset(offset))
    return total, [form_to_dict(r) for r in rows]


def get_form(conn: Connection, form_id: str) -> dict[str, Any] | None:
    """The form with id ``form_id``, or None."""
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
