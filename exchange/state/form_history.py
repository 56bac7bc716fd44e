"""The history of every form: one row per change, by the mediator (new inputs) or by staff (a review)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from exchange.entities import iso_ms
from exchange.state.tables import form_history

MEDIATOR = "mediator"  # the actor of changes made by new department data
ACTIONS = ("created", "updated", "superseded", "reopened", "confirmed", "corrected", "rejected")


def history_entry(
    form_id: str,
    revision: int,
    at: int,
    action: str,
    status_before: str | None,
    status_after: str,
    *,
    actor: str = MEDIATOR,
    reason: str | None = None,
    changes: Any = None,
) -> dict[str, Any]:
    """A ``form_history`` row; ``revision`` is the form's revision after the change."""
    assert action in ACTIONS, action
    return {"form_id": form_id, "revision": revision, "at": at, "actor": actor, "action": action,
            "status_before": status_before, "status_after": status_after, "reason": reason, "changes": changes}


def write_history(conn: Connection, entries: list[dict[str, Any]]) -> None:
    if entries:
        conn.execute(form_history.insert(), entries)


def read_history(conn: Connection, form_id: str) -> list[dict[str, Any]]:
    """Every change of ``form_id``, oldest first."""
    rows = conn.execute(
        select(form_history).where(form_history.c.form_id == form_id).order_by(form_history.c.revision)
    )
    return [
        {"revision": r.revision, "at": iso_ms(r.at), "actor": r.actor, "action": r.action,
         "status_before": r.status_before, "status_after": r.status_after, "reason": r.reason, "changes": r.changes}
        for r in rows
    ]
