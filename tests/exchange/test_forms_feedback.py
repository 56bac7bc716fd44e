"""The closed loop: a staff correction reaches the source department's feedback topic, exactly once in state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from form_factories import GOOD_MANUAL, KEY, open_form, outbox, review
from prometheus_client import REGISTRY

from adapters.feedback import FeedbackItem, feedback_topic, read_feedback
from exchange import feedback
from exchange.bus import Bus
from exchange.errors import ConfigError
from exchange.feedback import publish_unsent
from exchange.state import StateStore
from exchange.state.form_diff import form_diff
from exchange.state.lifecycle import Correction


def correct_address(store: StateStore) -> tuple[dict[str, Any], list[str]]:
    opened = open_form(store)
    outcome = review(store, opened["id"], "correct", 1, now=1_780_000_000_000, manual=GOOD_MANUAL,
                     corrections=(Correction("registered_address", "大营村上村组5号", "搬家后未更新户籍地址"),))
    return opened, outcome.feedback_ids


def sent_total(department: str) -> float:
    return REGISTRY.get_sample_value("exchange_feedback_sent_total", {"department": department}) or 0.0


def test_a_correction_reaches_the_source_departments_adapter(sqlite_store: StateStore, bus: Bus) -> None:
    """Published from the outbox, the correction is read back by the department with every detail."""
    opened, [ident] = correct_address(sqlite_store)
    before = sent_total("PUBLIC_SECURITY")
    assert publish_unsent(sqlite_store, bus) == 1
    assert sent_total("PUBLIC_SECURITY") == before + 1
    assert outbox(sqlite_store)[0].sent_at is not None
    [item] = list(read_feedback(bus, "public-security", group="ps-registry", timeout=0.2))
    assert item == FeedbackItem(
        feedback_id=ident, department="PUBLIC_SECURITY", form_id=opened["id"], form_revision=1,
        process="elderly-allowance-review", entity_type="resident", entity_key=KEY, field="registered_address",
        field_label="户籍地址", source_record_type="resident", source_record_id="row-1",
        source_event_time=datetime(2026, 3, 1, 8, tzinfo=UTC), value_at_source="大营村下村组23号",
        corrected_value="大营村上村组5号", reason="搬家后未更新户籍地址", corrected_by="grid-worker-7",
        corrected_at=datetime.fromtimestamp(1_780_000_000, UTC), answer_due=date(2026, 6, 12))
    # Committed: the group reads nothing new; other departments got nothing.
    assert list(read_feedback(bus, "PUBLIC_SECURITY", group="ps-registry", timeout=0.2)) == []
    assert list(read_feedback(bus, "HEALTH", group="health", timeout=0.2)) == []


def test_published_feedback_is_not_published_again(sqlite_store: StateStore, bus: Bus) -> None:
    """Once marked sent, a feedback record stays sent: a second relay publishes nothing."""
    correct_address(sqlite_store)
    assert publish_unsent(sqlite_store, bus) == 1
    assert publish_unsent(sqlite_store, bus) == 0
    assert len(list(read_feedback(bus, "PUBLIC_SECURITY", group="g", timeout=0.2))) == 1


def test_a_crash_before_marking_sent_republishes_the_same_id(
    sqlite_store: StateStore, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the bus's acknowledgement and the mark re-publishes the same feedback_id (dedupe by it)."""
    _, [ident] = correct_address(sqlite_store)

    def crash(*_args: Any) -> None:
        raise KeyboardInterrupt("killed after publishing")

    with monkeypatch.context() as patched:
        patched.setattr(feedback, "mark_sent", crash)
        with pytest.raises(KeyboardInterrupt):
            publish_unsent(sqlite_store, bus)
    assert outbox(sqlite_store)[0].sent_at is None
    assert publish_unsent(sqlite_store, bus) == 1
    ids = [item.feedback_id for item in read_feedback(bus, "PUBLIC_SECURITY", group="g", timeout=0.2)]
    assert ids == [ident, ident]


def test_leaving_the_loop_mid_batch_reads_that_batch_again(sqlite_store: StateStore, bus: Bus) -> None:
    """Offsets are committed only after a whole batch was handed out."""
    correct_address(sqlite_store)
    publish_unsent(sqlite_store, bus)
    for _item in read_feedback(bus, "PUBLIC_SECURITY", group="g", timeout=0.2):
        break
    assert len(list(read_feedback(bus, "PUBLIC_SECURITY", group="g", timeout=0.2))) == 1


def test_every_source_department_has_a_feedback_topic() -> None:
    """Each department that publishes records can be told about corrections; the exchange itself cannot."""
    assert feedback_topic("CIVIL_AFFAIRS") == "civil-affairs.feedback"
    assert feedback_topic("human-resources-social-security") == "human-resources.feedback"
    for department in ("PUBLIC_SECURITY", "HEALTH", "DISABLED_PERSONS_FEDERATION", "EDUCATION",
                       "AGRICULTURE_RURAL_AFFAIRS"):
        assert feedback_topic(department).endswith(".feedback")
    with pytest.raises(ConfigError):
        feedback_topic("EXCHANGE")


def test_the_diff_ignores_a_newer_copy_and_the_age_day_but_not_a_new_source() -> None:
    """Same value from a newer record or on another day is no change; the same value from another department is."""
    old = [{"name": "age", "value": 85, "provenance": {"department": "PUBLIC_SECURITY", "record_type": "resident",
                                                      "source_record_id": "1", "computed": "age", "as_of": "d1"}}]
    newer = [{"name": "age", "value": 85, "provenance": {"department": "PUBLIC_SECURITY", "record_type": "resident",
                                                        "source_record_id": "2", "computed": "age", "as_of": "d2"}}]
    assert form_diff(old, newer) == []
    other = [{"name": "age", "value": 85, "provenance": {"department": "CIVIL_AFFAIRS", "record_type": "funeral"}}]
    assert [c["field"] for c in form_diff(old, other)] == ["age"]


def test_the_diff_reports_conflicts_and_routing() -> None:
    """A new conflict between departments and a new grid are changes a reviewer must see."""
    field = [{"name": "address", "value": "a", "provenance": {"department": "PUBLIC_SECURITY", "record_type": "r"}}]
    clash = [{"field": "address", "value": "b", "chosen": "a",
              "provenance": {"department": "CIVIL_AFFAIRS", "record_type": "assistance"}}]
    diff = form_diff(field, field, old_conflicts=[], new_conflicts=clash, old_grid="g1", new_grid="g2")
    assert [(c["field"], c["kind"]) for c in diff] == [("address", "conflict"), ("routing.grid", "routing")]
    assert diff[0]["new"] == clash
