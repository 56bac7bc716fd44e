"""The mediator: entity views with provenance, idempotence, event-time order, the 80-year rule."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from factories import assistance, resident
from sqlalchemy import select

from exchange.bus import Bus
from exchange.mediator import GROUP, Mediator
from exchange.processes import load_processes
from exchange.state import StateStore
from exchange.state.forms import list_forms
from exchange.state.tables import entity_facts, forms

TODAY = date(2026, 6, 15)
RESIDENTS = "public-security.residents"
ASSISTANCE = "civil-affairs.assistance"


def publish(bus: Bus, topic: str, *records: dict[str, Any]) -> None:
    publisher = bus.publisher()
    for record in records:
        publisher.publish(topic, record)
    publisher.flush()


def mediator(bus: Bus, store: StateStore, today: date = TODAY, group: str = GROUP) -> Mediator:
    return Mediator(bus, store, load_processes(), today=lambda: today, group=group)


def all_forms(store: StateStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return list_forms(conn, limit=1000)[1]


def state_snapshot(store: StateStore) -> tuple[list[Any], list[Any]]:
    with store.engine.connect() as conn:
        facts = sorted(tuple(r) for r in conn.execute(select(entity_facts)))
        form_rows = sorted(
            (r.process_id, r.entity_key, r.status, r.digest, r.revision)
            for r in conn.execute(select(forms))
        )
    return facts, form_rows


def field(form: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in form["fields"] if f["name"] == name)


def test_form_is_prefilled_with_provenance_for_every_value(bus: Bus, store: StateStore) -> None:
    """An 85-year-old without the allowance gets one form whose values name their source record."""
    person = resident(date(1941, 2, 3))
    publish(bus, RESIDENTS, person)
    publish(bus, ASSISTANCE, assistance(person["resident_id"], "SUBSISTENCE_ALLOWANCE", record_id="MZ1"))
    mediator(bus, store).run(until_caught_up=True)

    [form] = all_forms(store)
    assert form["process"] == "elderly-allowance-review"
    assert form["status"] == "pending_review"
    assert form["grid_code"] == "53012410120101"
    assert field(form, "name")["value"] == "张桂英"
    assert field(form, "name")["provenance"]["department"] == "PUBLIC_SECURITY"
    assert field(form, "name")["provenance"]["source_record_id"] == f"row-{person['resident_id']}"
    assert field(form, "age")["value"] == 85
    assert field(form, "birth_date")["value"] == "1941-02-03"
    programmes = field(form, "current_programmes")
    assert programmes["value"] == ["SUBSISTENCE_ALLOWANCE"]
    assert programmes["provenance"][0]["department"] == "CIVIL_AFFAIRS"
    assert [m["name"] for m in form["manual_fields"]] == [
        "living_arrangement", "verified_in_person", "phone", "bank_account"]
    assert form["manual_count"] == 4
    assert form["prefilled_count"] == 11


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (date(1946, 6, 15), True),   # 80th birthday today
        (date(1946, 6, 16), False),  # 80 tomorrow
        (date(1946, 6, 14), True),   # turned 80 yesterday
    ],
)
def test_eighty_year_rule_at_the_boundary(bus: Bus, store: StateStore, birth: date, expected: bool) -> None:
    """A form opens on the 80th birthday (China date), not a day before."""
    publish(bus, RESIDENTS, resident(birth))
    mediator(bus, store).run(until_caught_up=True)
    assert bool(all_forms(store)) is expected


def test_turning_eighty_opens_a_form_without_a_new_record(bus: Bus, store: StateStore) -> None:
    """The daily refresh opens the form on the birthday even if no department sends anything."""
    publish(bus, RESIDENTS, resident(date(1946, 6, 16)))
    mediator(bus, store).run(until_caught_up=True)
    assert all_forms(store) == []
    next_day = mediator(bus, store, today=date(2026, 6, 16))
    assert next_day.run(until_caught_up=True).forms == {"created": 1}
    assert next_day.run(until_caught_up=True).forms == {}  # everyone was already evaluated today


def test_residents_receiving_the_allowance_or_not_active_get_no_form(bus: Bus, store: StateStore) -> None:
    """The allowance, death and moving out all keep a resident off the review list."""
    receiving = resident(date(1930, 1, 1), sequence=21)
    deceased = resident(date(1931, 1, 1), sequence=23, status="DECEASED")
    moved = resident(date(1932, 1, 1), sequence=25, status="MOVED_OUT")
    publish(bus, RESIDENTS, receiving, deceased, moved)
    publish(bus, ASSISTANCE, assistance(receiving["resident_id"]))
    mediator(bus, store).run(until_caught_up=True)
    assert all_forms(store) == []


def test_allowance_granted_later_supersedes_the_pending_form(bus: Bus, store: StateStore) -> None:
    """When civil affairs starts paying, the open review form is superseded, not left behind."""
    person = resident(date(1940, 5, 5))
    publish(bus, RESIDENTS, person)
    mediator(bus, store).run(until_caught_up=True)
    publish(bus, ASSISTANCE, assistance(person["resident_id"], event_minutes=10))
    mediator(bus, store).run(until_caught_up=True)
    [form] = all_forms(store)
    assert form["status"] == "superseded"


def test_reprocessing_the_same_records_changes_nothing(bus: Bus, store: StateStore) -> None:
    """Duplicates, and the whole log applied again by a fresh consumer position, leave state as it was."""
    person = resident(date(1940, 5, 5))
    publish(bus, RESIDENTS, person, person)  # an exact duplicate on the bus
    publish(bus, ASSISTANCE, assistance(person["resident_id"], "SUBSISTENCE_ALLOWANCE"))
    first = mediator(bus, store)
    stats = first.run(until_caught_up=True)
    assert stats.consumed == 3
    assert stats.unchanged == 1
    before = state_snapshot(store)

    # Replay everything through apply() as if offsets had been lost: no record changes state again.
    messages = []
    with bus.consumer("replayer", [RESIDENTS, ASSISTANCE]) as consumer:
        while batch := consumer.poll(timeout=0.2):
            messages.extend(batch)
    fresh = mediator(bus, store, group="replay-group")
    again = fresh.apply(messages)
    assert again.facts_changed == 0
    assert state_snapshot(store) == before
    assert [f["revision"] for f in all_forms(store)] == [1]


def test_late_older_record_never_overwrites_a_newer_one(bus: Bus, store: StateStore) -> None:
    """Event time decides: an older address arriving last does not replace the newer one."""
    newer = resident(date(1940, 5, 5), event_minutes=60, registered_address="新地址 1号")
    older = resident(date(1940, 5, 5), event_minutes=0, ingest_minutes=120, registered_address="旧地址 9号")
    publish(bus, RESIDENTS, newer)
    mediator(bus, store).run(until_caught_up=True)
    publish(bus, RESIDENTS, older)
    stats = mediator(bus, store).run(until_caught_up=True)
    assert stats.unchanged == 1
    [form] = all_forms(store)
    assert field(form, "registered_address")["value"] == "新地址 1号"


def test_newer_record_updates_the_pending_form(bus: Bus, store: StateStore) -> None:
    """A correction at the source re-computes the form and bumps its revision."""
    publish(bus, RESIDENTS, resident(date(1940, 5, 5), registered_address="旧地址 9号"))
    mediator(bus, store).run(until_caught_up=True)
    publish(bus, RESIDENTS, resident(date(1940, 5, 5), event_minutes=5, registered_address="新地址 1号"))
    mediator(bus, store).run(until_caught_up=True)
    [form] = all_forms(store)
    assert field(form, "registered_address")["value"] == "新地址 1号"
    assert form["revision"] == 2


def test_undecodable_message_becomes_a_dead_letter_and_does_not_block(bus: Bus, store: StateStore) -> None:
    """Garbage on a topic goes to the dead-letter topic with its origin; later records still apply."""
    producer = bus.transport.producer()
    producer.send(RESIDENTS, b"\x00\x00\x00\x00\x09garbage", key=b"x")
    producer.flush()
    publish(bus, RESIDENTS, resident(date(1940, 5, 5)))
    stats = mediator(bus, store).run(until_caught_up=True)
    assert stats.dead_letters == 1
    assert len(all_forms(store)) == 1
    with bus.consumer("dlq-check", ["exchange.dead-letters"]) as consumer:
        [message] = consumer.poll(timeout=1.0)
    letter = bus.decode(message).value
    assert letter["reason"] == "unknown_schema_id"
    assert letter["origin"].startswith(f"{RESIDENTS}/")
    assert letter["payload"] == b"\x00\x00\x00\x00\x09garbage"
    headers = dict(message.headers)
    assert headers["error.reason"] == b"unknown_schema_id"
    assert headers["error.topic"] == RESIDENTS.encode()
    assert int(headers["error.offset"]) == 0
    assert int(headers["error.timestamp"]) > 0
    assert "error.partition" in headers


def test_offsets_are_committed_only_after_state(bus: Bus, store: StateStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the state transaction fails, the bus offsets stay put and the records are applied on restart."""
    publish(bus, RESIDENTS, resident(date(1940, 5, 5)))
    broken = mediator(bus, store)

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("exchange.mediator.write_facts", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        broken.run(until_caught_up=True)
    partitions = bus.transport.committed_offsets(GROUP, RESIDENTS)
    assert partitions == {}
    assert all_forms(store) == []

    monkeypatch.undo()
    mediator(bus, store).run(until_caught_up=True)
    assert len(all_forms(store)) == 1
    committed = bus.transport.committed_offsets(GROUP, RESIDENTS)
    assert sum(committed.values()) == 1
    assert store.load_offsets(GROUP) == {(RESIDENTS, p): o for p, o in committed.items()}


def test_state_rebuilt_from_the_topics_equals_the_live_state(bus: Bus, store: StateStore, tmp_path: Any) -> None:
    """A second state store fed from the same log ends in the same facts and forms."""
    for i in range(20):
        publish(bus, RESIDENTS, resident(date(1930 + i, 3, 1), sequence=11 + 2 * i, event_minutes=i))
    publish(bus, ASSISTANCE, assistance(resident(date(1931, 3, 1), sequence=13)["resident_id"]))
    mediator(bus, store).run(until_caught_up=True)
    rebuilt = StateStore(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    rebuilt.create_schema()
    mediator(bus, rebuilt, group="rebuild").run(until_caught_up=True)
    live_facts, live_forms = state_snapshot(store)
    new_facts, new_forms = state_snapshot(rebuilt)
    assert new_facts == live_facts
    assert [f[:4] for f in new_forms] == [f[:4] for f in live_forms]
    rebuilt.close()


def test_a_backlog_is_joined_across_topics_before_forms_open(bus: Bus, store: StateStore) -> None:
    """A resident whose allowance record comes many batches later never gets a form that is then withdrawn."""
    people = [resident(date(1930, 1, 1 + i), sequence=11 + 2 * i) for i in range(20)]
    publish(bus, RESIDENTS, *people)
    publish(bus, ASSISTANCE, *(assistance(p["resident_id"], record_id=f"MZ{i}") for i, p in enumerate(people)))
    stats = mediator(bus, store).run(until_caught_up=True, max_records=3)  # many small batches
    assert stats.consumed == 40
    assert all_forms(store) == []
    assert stats.forms == {}


def test_waiting_entities_survive_a_crash_before_evaluation(bus: Bus, store: StateStore) -> None:
    """Facts applied but not yet evaluated are evaluated by the next mediator, not forgotten."""
    publish(bus, RESIDENTS, resident(date(1940, 5, 5)))
    first = mediator(bus, store)
    with bus.consumer(GROUP, [RESIDENTS, ASSISTANCE]) as consumer:
        first.apply(consumer.poll(timeout=1.0), consumer, evaluate=False)  # then "crash"
    assert all_forms(store) == []
    mediator(bus, store).run(until_caught_up=True)
    assert len(all_forms(store)) == 1


def test_a_death_supersedes_the_open_review_and_opens_the_death_notice(bus: Bus, store: StateStore) -> None:
    """A registered death makes the elderly trigger false: the pending review is superseded, the notice opens."""
    from township_pipeline import death

    person = resident(date(1940, 5, 5))
    publish(bus, RESIDENTS, person)
    mediator(bus, store).run(until_caught_up=True)
    publish(bus, "public-security.deaths", death(person["resident_id"], date(2026, 6, 1)))
    stats = mediator(bus, store).run(until_caught_up=True)
    assert stats.forms == {"superseded": 1, "created": 1}
    by_process = {f["process"]: f["status"] for f in all_forms(store)}
    assert by_process == {"elderly-allowance-review": "superseded", "death-notice": "pending_review"}
