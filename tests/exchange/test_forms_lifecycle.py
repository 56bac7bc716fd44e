"""The form lifecycle: every transition, optimistic locking, supersede-after-review with its diff, history."""

from __future__ import annotations

from typing import Any

import pytest
from form_factories import GOOD_MANUAL, draft, form, history, open_form, outbox, provenance, review, store_draft

from exchange.state import StateStore
from exchange.state.lifecycle import Correction, FormNotFound, FormNotPending, InvalidReview, StaleRevision

# -- the mediator's side: created, updated, superseded, reopened


def test_a_new_form_is_pending_with_a_created_history_entry(store: StateStore) -> None:
    """Storing a first evaluation opens a pending form at revision 1 and records who created it."""
    opened = open_form(store)
    assert (opened["status"], opened["revision"]) == ("pending_review", 1)
    assert opened["links"]["history"] == f"/api/forms/{opened['id']}/history"
    [entry] = history(store, opened["id"])
    assert (entry["action"], entry["actor"], entry["status_before"], entry["status_after"], entry["revision"]) == (
        "created", "mediator", None, "pending_review", 1)


def test_a_pending_form_follows_its_inputs_and_records_the_diff(store: StateStore) -> None:
    """New inputs update a pending form in place, at a new revision, with the diff in the form and history."""
    opened = open_form(store)
    [change] = store_draft(store, draft("张贵英", record_id="row-2", event="2026-04-01T08:00:00.000+00:00"), 1_500)
    assert change.kind == "updated"
    updated = form(store, opened["id"])
    assert updated["revision"] == 2
    assert updated["status"] == "pending_review"
    [diff] = updated["changes"]
    assert diff["field"] == "name"
    assert diff["old"]["value"] == "张桂英"
    assert diff["old"]["provenance"]["source_record_id"] == "row-1"
    assert diff["new"]["value"] == "张贵英"
    assert diff["new"]["provenance"]["source_record_id"] == "row-2"
    entry = history(store, opened["id"])[-1]
    assert (entry["action"], entry["revision"], entry["changes"]) == ("updated", 2, updated["changes"])


def test_a_new_age_day_alone_changes_no_revision(store: StateStore) -> None:
    """Only the as-of day of a computed age moved: the content refreshes, the revision and history do not."""
    opened = open_form(store)
    assert store_draft(store, draft(as_of="2026-06-16")) == []
    assert form(store, opened["id"])["revision"] == 1
    assert len(history(store, opened["id"])) == 1


def test_unchanged_inputs_change_nothing(store: StateStore) -> None:
    """The same evaluation again (a redelivered record) is a no-op."""
    opened = open_form(store)
    assert store_draft(store, draft()) == []
    assert form(store, opened["id"]) == opened


def test_a_pending_form_whose_trigger_stops_holding_is_superseded_and_can_reopen(store: StateStore) -> None:
    """Trigger gone: superseded; trigger back with other values: reopened as pending with the diff."""
    opened = open_form(store)
    [gone] = store_draft(store, None, 1_100)
    assert gone.kind == "superseded"
    assert form(store, opened["id"])["status"] == "superseded"
    [back] = store_draft(store, draft(address="新地址1号", record_id="row-3"), 1_200)
    assert back.kind == "reopened"
    reopened = form(store, opened["id"])
    assert (reopened["status"], reopened["revision"]) == ("pending_review", 3)
    assert [c["field"] for c in reopened["changes"]] == ["registered_address"]  # a newer copy alone is no change
    assert [e["action"] for e in history(store, opened["id"])] == ["created", "superseded", "reopened"]


# -- the staff's side: confirmed, corrected, rejected


def test_confirm_fills_the_manual_fields_and_records_who(store: StateStore) -> None:
    """Confirming stores the manual values (normalised by kind), the reviewer, and a history entry."""
    opened = open_form(store)
    outcome = review(store, opened["id"], "confirm", 1,
                     manual=GOOD_MANUAL | {"income": "1,200.50", "visited_on": "2026-06-10", "phone": " 138 "})
    confirmed = outcome.form
    assert (confirmed["status"], confirmed["revision"], confirmed["reviewed_by"]) == ("confirmed", 2, "grid-worker-7")
    values = {m["name"]: m["value"] for m in confirmed["manual_fields"]}
    assert values == {"living_arrangement": "独居", "verified_in_person": True, "income": 1200.5,
                      "visited_on": "2026-06-10", "phone": "138"}
    assert outcome.feedback_ids == []
    entry = history(store, opened["id"])[-1]
    assert (entry["action"], entry["actor"], entry["status_before"], entry["status_after"]) == (
        "confirmed", "grid-worker-7", "pending_review", "confirmed")
    assert entry["changes"]["manual"]["living_arrangement"] == "独居"


def test_correct_keeps_the_original_and_queues_feedback_to_the_source(store: StateStore) -> None:
    """A correction is stored beside the department's value and queued once per source record, in one go."""
    opened = open_form(store)
    outcome = review(store, opened["id"], "correct", 1, manual=GOOD_MANUAL, corrections=(
        Correction("registered_address", "大营村上村组5号", "搬家后未更新户籍地址"),
        Correction("current_programmes", [], "低保已于五月停发"),
    ))
    corrected = outcome.form
    assert corrected["status"] == "corrected"
    assert corrected["corrections"][0] == {
        "field": "registered_address", "value": "大营村上村组5号", "reason": "搬家后未更新户籍地址",
        "original": {"value": "大营村下村组23号", "provenance": provenance()}}
    rows = outbox(store)
    assert sorted(r.id for r in rows) == sorted(outcome.feedback_ids)
    by_record = {r.record["source_record_id"]: r for r in rows}
    assert set(by_record) == {"row-1", "MZ1", "MZ2"}  # the address's source and both assistance records
    address = by_record["row-1"]
    assert (address.topic, address.department, address.sent_at) == ("public-security.feedback", "PUBLIC_SECURITY",
                                                                     None)
    assert address.record["value_at_source"] == '"大营村下村组23号"'
    assert address.record["corrected_value"] == '"大营村上村组5号"'
    assert address.record["answer_due"] == "1970-01-15"  # 14 days after the correction, China time
    assert by_record["MZ1"].topic == "civil-affairs.feedback"
    entry = history(store, opened["id"])[-1]
    assert entry["action"] == "corrected"
    assert sorted(entry["changes"]["feedback"]) == sorted(outcome.feedback_ids)


def test_feedback_ids_are_deterministic(store: StateStore, tmp_path: Any) -> None:
    """The same correction of the same form revision gives the same feedback id (what consumers dedupe by)."""
    from exchange.state.feedback import feedback_id

    opened = open_form(store)
    outcome = review(store, opened["id"], "correct", 1, manual=GOOD_MANUAL,
                     corrections=(Correction("name", "张贵英", "身份证上为贵"),))
    assert outcome.feedback_ids == [feedback_id(opened["id"], 1, "name", "PUBLIC_SECURITY", "resident", "row-1")]


def test_a_value_no_department_supplied_is_corrected_without_feedback(store: StateStore) -> None:
    """Filling a pre-fill field no source had is a correction with no one to send feedback to."""
    opened = open_form(store)
    outcome = review(store, opened["id"], "correct", 1, manual=GOOD_MANUAL,
                     corrections=(Correction("phone_on_file", "13800000000", "本人提供"),))
    assert outcome.form["status"] == "corrected"
    assert outcome.feedback_ids == []
    assert outbox(store) == []


def test_reject_needs_a_reason(store: StateStore) -> None:
    """A rejection without a reason is refused; with one, the form is rejected with that reason."""
    opened = open_form(store)
    with pytest.raises(InvalidReview) as refused:
        review(store, opened["id"], "reject", 1, reason="  ")
    assert [e.field for e in refused.value.errors] == ["reason"]
    rejected = review(store, opened["id"], "reject", 1, reason="已迁出本村").form
    assert (rejected["status"], rejected["status_reason"], rejected["revision"]) == ("rejected", "已迁出本村", 2)
    entry = history(store, opened["id"])[-1]
    assert (entry["action"], entry["reason"]) == ("rejected", "已迁出本村")


# -- refusals


def test_a_stale_revision_is_refused_and_changes_nothing(store: StateStore) -> None:
    """An action made on an older revision (new data arrived meanwhile) is a conflict naming the current one."""
    opened = open_form(store)
    store_draft(store, draft("张贵英", record_id="row-2"), 1_500)
    with pytest.raises(StaleRevision) as stale:
        review(store, opened["id"], "confirm", 1, manual=GOOD_MANUAL)
    assert (stale.value.revision, stale.value.status) == (2, "pending_review")
    assert form(store, opened["id"])["status"] == "pending_review"


def test_a_reviewed_form_cannot_be_reviewed_again(store: StateStore) -> None:
    """Confirming a confirmed form (at its current revision) is a conflict: it is not pending."""
    opened = open_form(store)
    review(store, opened["id"], "confirm", 1, manual=GOOD_MANUAL)
    with pytest.raises(FormNotPending):
        review(store, opened["id"], "reject", 2, reason="误操作")


def test_an_unknown_form_is_not_found(store: StateStore) -> None:
    """Acting on a form id that does not exist raises FormNotFound."""
    with pytest.raises(FormNotFound):
        review(store, "no-such-form", "confirm", 1, manual=GOOD_MANUAL)


@pytest.mark.parametrize(
    ("manual", "expected"),
    [
        ({"verified_in_person": True}, {"living_arrangement": "required"}),
        (GOOD_MANUAL | {"living_arrangement": "住在月球"}, {"living_arrangement": "is not one of"}),
        (GOOD_MANUAL | {"verified_in_person": "是"}, {"verified_in_person": "true or false"}),
        (GOOD_MANUAL | {"income": "很多"}, {"income": "not a number"}),
        (GOOD_MANUAL | {"income": True}, {"income": "must be a number"}),
        (GOOD_MANUAL | {"visited_on": "2026/06/10"}, {"visited_on": "not a date"}),
        (GOOD_MANUAL | {"phone": 138}, {"phone": "must be text"}),
        (GOOD_MANUAL | {"shoe_size": 42}, {"shoe_size": "no such manual field"}),
        ({"living_arrangement": "火星", "verified_in_person": None},
         {"living_arrangement": "is not one of", "verified_in_person": "required"}),
    ],
)
def test_manual_values_are_checked_by_kind(store: StateStore, manual: dict[str, Any], expected: dict[str, str]) -> None:
    """Every bad manual value is named with its problem, and nothing is stored."""
    opened = open_form(store)
    with pytest.raises(InvalidReview) as refused:
        review(store, opened["id"], "confirm", 1, manual=manual)
    errors = {e.field: e.message for e in refused.value.errors}
    assert set(errors) == set(expected)
    for name, fragment in expected.items():
        assert fragment in errors[name]
    assert form(store, opened["id"]) == opened


@pytest.mark.parametrize(
    ("correction", "fragment"),
    [
        (Correction("nickname", "x", "r"), "no such pre-filled field"),
        (Correction("phone", "x", "r"), "manual field is filled in"),
        (Correction("name", "张贵英", " "), "needs a reason"),
        (Correction("name", "张桂英", "r"), "equals the pre-filled value"),
    ],
)
def test_corrections_are_checked(store: StateStore, correction: Correction, fragment: str) -> None:
    """A correction of an unknown or manual field, without a reason, or to the same value is refused."""
    opened = open_form(store)
    with pytest.raises(InvalidReview) as refused:
        review(store, opened["id"], "correct", 1, manual=GOOD_MANUAL, corrections=(correction,))
    [error] = refused.value.errors
    assert (error.field, error.where) == (correction.field, "corrections")
    assert fragment in error.message


def test_confirm_and_correct_are_not_interchangeable(store: StateStore) -> None:
    """Confirm carries no corrections; correct needs at least one."""
    opened = open_form(store)
    with pytest.raises(InvalidReview, match="correct action"):
        review(store, opened["id"], "confirm", 1, manual=GOOD_MANUAL, corrections=(Correction("name", "x", "r"),))
    with pytest.raises(InvalidReview, match="at least one"):
        review(store, opened["id"], "correct", 1, manual=GOOD_MANUAL)


# -- superseded after review


@pytest.mark.parametrize("action", ["confirm", "correct", "reject"])
def test_a_reviewed_form_is_superseded_and_reopened_when_its_inputs_change(store: StateStore, action: str) -> None:
    """New inputs after a review supersede it and open a pending revision carrying the diff and the manual values."""
    opened = open_form(store)
    kw: dict[str, Any] = {"reason": "已迁出"} if action == "reject" else {"manual": GOOD_MANUAL}
    if action == "correct":
        kw["corrections"] = (Correction("name", "张贵英", "身份证上为贵"),)
    reviewed = review(store, opened["id"], action, 1, **kw).form
    # The department fixed the name (the closed loop): a newer resident record arrives.
    changes = store_draft(store, draft("张贵英", record_id="row-2", event="2026-07-01T08:00:00.000+00:00"), 3_000)
    assert [c.kind for c in changes] == ["superseded", "reopened"]
    reopened = form(store, opened["id"])
    assert (reopened["status"], reopened["revision"]) == ("pending_review", 4)
    assert reopened["corrections"] == []
    assert reopened["reviewed_by"] is None
    [diff] = reopened["changes"]
    newer = provenance("row-2", event="2026-07-01T08:00:00.000+00:00")
    assert diff == {"field": "name", "kind": "value", "old": {"value": "张桂英", "provenance": provenance()},
                    "new": {"value": "张贵英", "provenance": newer}}
    carried = {m["name"]: m["value"] for m in reopened["manual_fields"]}
    if action != "reject":
        assert carried["living_arrangement"] == "独居"  # a suggestion: staff confirm the new revision again
    entries = history(store, opened["id"])
    assert [(e["action"], e["revision"], e["status_before"], e["status_after"]) for e in entries[-2:]] == [
        ("superseded", 3, reviewed["status"], "superseded"), ("reopened", 4, "superseded", "pending_review")]
    assert entries[-2]["changes"] == entries[-1]["changes"] == [diff]
    assert entries[-2]["reason"] == "inputs changed after review"


def test_a_review_stands_when_only_volatile_provenance_moves_or_the_trigger_ends(store: StateStore) -> None:
    """A new as-of day or a trigger that stops holding (the allowance started) leaves a confirmed form alone."""
    opened = open_form(store)
    review(store, opened["id"], "confirm", 1, manual=GOOD_MANUAL)
    assert store_draft(store, draft(as_of="2026-06-16"), 3_000) == []
    assert store_draft(store, None, 3_100) == []
    assert form(store, opened["id"])["status"] == "confirmed"
    assert form(store, opened["id"])["revision"] == 2


def test_history_is_complete_and_contiguous(store: StateStore) -> None:
    """A form's whole life is in its history, one entry per revision, each with its actor."""
    opened = open_form(store)
    store_draft(store, draft(address="二号", record_id="row-2"), 1_100)  # updated: r2
    review(store, opened["id"], "correct", 2, manual=GOOD_MANUAL,
           corrections=(Correction("registered_address", "三号", "入户核实"),))  # r3
    store_draft(store, draft(address="三号", record_id="row-3"), 3_000)  # superseded r4, reopened r5
    review(store, opened["id"], "confirm", 5, manual=GOOD_MANUAL, actor="village-reviewer-2")  # r6
    entries = history(store, opened["id"])
    assert [e["revision"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e["action"] for e in entries] == ["created", "updated", "corrected", "superseded", "reopened", "confirmed"]
    assert [e["actor"] for e in entries] == ["mediator", "mediator", "grid-worker-7", "mediator", "mediator",
                                             "village-reviewer-2"]
    assert form(store, opened["id"])["status"] == "confirmed"
