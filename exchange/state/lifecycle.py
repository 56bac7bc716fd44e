"""Staff decisions on a pending form: confirm, correct (confirm with corrected values) or reject.

    pending_review ──confirm──▶ confirmed
          │  ╰──────correct──▶ corrected ──(inputs change)──▶ superseded ──▶ pending_review (new revision)
          ╰─────────reject───▶ rejected

Every action names the revision it was made on (optimistic locking: another change in between makes it
stale) and is written to ``form_history`` in the same transaction as the form. A correction of a
pre-filled value also writes one feedback record per source record behind the value to the outbox
(``exchange.state.feedback``), still in that transaction.

Errors::

    ExchangeError
    └── FormActionError
        ├── FormNotFound (LookupError)     no such form                      → 404
        ├── FormConflict                   the form moved on                 → 409
        │   ├── StaleRevision              made on an older revision
        │   └── FormNotPending             already reviewed or superseded
        └── InvalidReview (ValueError)     field errors, each naming a field → 422
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, select

from exchange.errors import ExchangeError
from exchange.state.feedback import write_feedback
from exchange.state.form_history import history_entry, write_history
from exchange.state.form_values import FieldError, check_corrections, check_manual
from exchange.state.forms import CONFIRMED, CORRECTED, PENDING, REJECTED, form_to_dict
from exchange.state.tables import forms

Action = Literal["confirm", "correct", "reject"]
_OUTCOME = {"confirm": (CONFIRMED, "confirmed"), "correct": (CORRECTED, "corrected"), "reject": (REJECTED, "rejected")}


class FormActionError(ExchangeError):
    """A staff action on a form was refused."""


class FormNotFound(FormActionError, LookupError):
    """No form has the id."""


class FormConflict(FormActionError):
    """The form is not in the state the action was made on; ``revision`` and ``status`` are its current ones."""

    def __init__(self, message: str, revision: int, status: str) -> None:
        super().__init__(message)
        self.revision, self.status = revision, status


class StaleRevision(FormConflict):
    """The action names an older revision: someone (or new data) changed the form since it was read."""


class FormNotPending(FormConflict):
    """The form is not pending review (already confirmed, corrected, rejected, or superseded)."""


class InvalidReview(FormActionError, ValueError):
    """The action's values break the form's rules; ``errors`` names every field at fault."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Correction:
    """A staff correction of one pre-filled value, with the reason."""

    field: str
    value: Any
    reason: str


@dataclass(frozen=True, slots=True)
class Review:
    """One staff action on the form revision ``revision``."""

    action: Action
    revision: int
    actor: str
    manual: dict[str, Any] = field(default_factory=dict)
    corrections: tuple[Correction, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """The form after the action and the ids of the feedback records it queued."""

    form: dict[str, Any]
    feedback_ids: list[str]


def _check(row: Any, review: Review) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The manual fields with the given values and the corrections with their originals; or InvalidReview."""
    errors: list[FieldError] = []
    if not review.actor.strip():
        errors.append(FieldError("actor", "who acts must be named", "body"))
    if review.action == "reject":
        if not (review.reason or "").strip():
            errors.append(FieldError("reason", "a rejection needs a reason", "body"))
        if errors:
            raise InvalidReview(errors)
        return row.manual_fields, []
    if review.action == "correct" and not review.corrections:
        errors.append(FieldError("corrections", "a correction needs at least one corrected field", "body"))
    if review.action == "confirm" and review.corrections:
        errors.append(FieldError("corrections", "corrections are made with the correct action", "body"))
    manual, manual_errors = check_manual(row.manual_fields, review.manual)
    corrections, correction_errors = check_corrections(
        row.fields, row.manual_fields, [(c.field, c.value, c.reason) for c in review.corrections])
    errors += manual_errors + correction_errors
    if errors:
        raise InvalidReview(errors)
    return manual, corrections


def review_form(conn: Connection, form_id: str, review: Review, now: int) -> ReviewOutcome:
    """Apply ``review`` to the pending form ``form_id`` in the caller's transaction."""
    row = conn.execute(select(forms).where(forms.c.id == form_id)).first()
    if row is None:
        raise FormNotFound(f"no form {form_id}")
    if row.revision != review.revision:
        raise StaleRevision(f"form {form_id} is at revision {row.revision}, the {review.action} was made on "
                            f"revision {review.revision}: reload it", row.revision, row.status)
    if row.status != PENDING:
        raise FormNotPending(f"form {form_id} is {row.status}, not pending review", row.revision, row.status)
    manual, corrections = _check(row, review)
    status, action = _OUTCOME[review.action]
    revision = row.revision + 1
    reason = (review.reason or "").strip() or None
    updated = conn.execute(
        forms.update()
        .where(forms.c.id == form_id, forms.c.revision == row.revision, forms.c.status == PENDING)
        .values(status=status, status_reason=reason, revision=revision, updated_at=now, manual_fields=manual,
                corrections=corrections or None, reviewed_by=review.actor, reviewed_at=now)
    )
    if updated.rowcount != 1:  # changed between the read and the write (another process)
        current = conn.execute(select(forms.c.revision, forms.c.status).where(forms.c.id == form_id)).one()
        raise StaleRevision(f"form {form_id} changed while the {review.action} was made", *current)
    feedback_ids = write_feedback(conn, row, row.revision, corrections, review.actor, now) if corrections else []
    changes: dict[str, Any] = {"manual": {m["name"]: m["value"] for m in manual if m.get("value") is not None}}
    if corrections:
        changes |= {"corrections": corrections, "feedback": feedback_ids}
    write_history(conn, [history_entry(form_id, revision, now, action, PENDING, status, actor=review.actor,
                                       reason=reason, changes=changes if review.action != "reject" else None)])
    form = form_to_dict(conn.execute(select(forms).where(forms.c.id == form_id)).one())
    return ReviewOutcome(form, feedback_ids)
