"""Form actions: ``POST /api/forms/{id}/confirm|correct|reject`` and ``GET /api/forms/{id}/history``.

Every action names the form revision it was made on; errors are RFC 9457 problem details
(``application/problem+json``): 404 no such form, 409 stale revision or form not pending (with the
current ``revision`` and ``status``), 422 field errors (``errors``: ``[{field, in, message}]``).

Who acts: ``forms_router`` takes an ``actor`` resolver that gets the request and the body's ``actor`` (or
None) and returns the account to record; it raises ``PermissionError`` (→ 403) or ``ValueError`` (→ 422
naming ``actor``). The app passes ``exchange.web.sessions.SessionActor``: the signed-in account when
there is a session, else the body's ``actor`` (API clients); ``body_actor`` trusts the body alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from exchange.clock import now_ms
from exchange.feedback import FeedbackRelay
from exchange.lifecycle_metrics import FORMS_REVIEWED
from exchange.state import StateStore
from exchange.state.form_history import read_history
from exchange.state.forms import get_form
from exchange.state.lifecycle import (
    Correction,
    FormConflict,
    FormNotFound,
    FormNotPending,
    InvalidReview,
    Review,
    review_form,
)
from exchange.web.push_api import problem

log = logging.getLogger(__name__)

STALE_REVISION = "urn:exchange:problem:stale-revision"
NOT_PENDING = "urn:exchange:problem:form-not-pending"
INVALID_REVIEW = "urn:exchange:problem:invalid-form-input"

ActorResolver = Callable[[Request, str | None], str]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Actor = Annotated[str | None, Field(min_length=1, max_length=128,
                                    description="Staff account acting; required without a signed-in session, "
                                                "ignored with one (the session's account acts).")]
Revision = Annotated[int, Field(ge=1, description="The form revision the action was made on.")]
Manual = Annotated[dict[str, Any], Field(default_factory=dict, description="Manual field values by name.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfirmBody(_Body):
    """Confirm the pre-filled values as they are and fill in the manual fields."""

    revision: Revision
    actor: Actor = None
    manual: Manual


class CorrectionBody(_Body):
    field: str = Field(min_length=1, description="Name of a pre-filled field.")
    value: Any = Field(description="The value staff found (null: wrong, and not known).")
    reason: Text


class CorrectBody(_Body):
    """Confirm with corrections of pre-filled values (each sent back to its source department)."""

    revision: Revision
    actor: Actor = None
    manual: Manual
    corrections: list[CorrectionBody] = Field(min_length=1)


class RejectBody(_Body):
    """The form should not exist (e.g. the resident moved away); the reason is required."""

    revision: Revision
    actor: Actor = None
    reason: Text


def body_actor(_request: Request, claimed: str | None) -> str:
    """The actor named in the body (for clients without sessions); ValueError when the body names none."""
    if claimed is None:
        raise ValueError("actor: name the acting staff account")
    return claimed


def forms_router(store: StateStore, relay: FeedbackRelay | None, actor: ActorResolver = body_actor) -> APIRouter:
    """The action and history routes over ``store``; corrections' feedback is published through ``relay``."""
    router = APIRouter(tags=["forms"])

    def act(request: Request, form_id: str, claimed: str | None, review_by: Callable[[str], Review]) -> JSONResponse:
        try:
            review = review_by(actor(request, claimed))
        except PermissionError as exc:
            return problem(request, 403, str(exc))
        except ValueError as exc:
            return problem(request, 422, str(exc), type=INVALID_REVIEW,
                           errors=[{"field": "actor", "in": "body", "message": str(exc)}])
        try:
            with store.transaction() as conn:
                outcome = review_form(conn, form_id, review, now_ms())
        except FormNotFound as exc:
            return problem(request, 404, str(exc))
        except FormConflict as exc:
            kind = NOT_PENDING if isinstance(exc, FormNotPending) else STALE_REVISION
            return problem(request, 409, str(exc), type=kind, revision=exc.revision, form_status=exc.status)
        except InvalidReview as exc:
            return problem(request, 422, str(exc), type=INVALID_REVIEW, errors=[e.as_dict() for e in exc.errors])
        FORMS_REVIEWED.labels(outcome.form["process"], outcome.form["status"]).inc()
        sent = _relay(relay) if outcome.feedback_ids else True
        return JSONResponse({"form": outcome.form,
                             "feedback": [{"id": i, "sent": sent} for i in outcome.feedback_ids]})

    @router.post("/forms/{form_id}/confirm")
    async def confirm(form_id: str, body: ConfirmBody, request: Request) -> JSONResponse:
        """Confirm a pending form: the pre-filled values stand; required manual fields must be filled."""
        return await run_in_threadpool(act, request, form_id, body.actor,
                                       lambda who: Review("confirm", body.revision, who, body.manual))

    @router.post("/forms/{form_id}/correct")
    async def correct(form_id: str, body: CorrectBody, request: Request) -> JSONResponse:
        """Confirm a pending form with corrected values; each correction is fed back to its source."""
        corrections = tuple(Correction(c.field, c.value, c.reason) for c in body.corrections)
        return await run_in_threadpool(act, request, form_id, body.actor,
                                       lambda who: Review("correct", body.revision, who, body.manual, corrections))

    @router.post("/forms/{form_id}/reject")
    async def reject(form_id: str, body: RejectBody, request: Request) -> JSONResponse:
        """Reject a pending form, with the reason."""
        return await run_in_threadpool(act, request, form_id, body.actor,
                                       lambda who: Review("reject", body.revision, who, reason=body.reason))

    @router.get("/forms/{form_id}/history")
    def history(form_id: str, request: Request) -> JSONResponse:
        """Every change of the form, oldest first: by new inputs (actor ``mediator``) and by staff."""
        with store.engine.connect() as conn:
            form = get_form(conn, form_id)
            entries = read_history(conn, form_id) if form is not None else []
        if form is None:
            return problem(request, 404, f"no form {form_id}")
        return JSONResponse({"form_id": form_id, "revision": form["revision"], "status": form["status"],
                             "items": entries})

    return router


def _relay(relay: FeedbackRelay | None) -> bool:
    """Publish the outbox now; a bus failure leaves it queued for the next relay (the correction stands)."""
    if relay is None:
        return False
    try:
        relay.relay()
    except Exception as exc:  # any failure keeps the records queued; the app's periodic relay retries
        log.warning("feedback stays queued: %s: %s", type(exc).__name__, exc)
        return False
    return True


__all__ = ["ActorResolver", "body_actor", "forms_router"]
