"""Notices: decided exactly once in the state, published from the outbox at least once, same id on repeat."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from factories import read_topic, resident
from prometheus_client import REGISTRY
from sqlalchemy import select
from township_pipeline import death, funeral

from exchange.bus import Bus
from exchange.errors import ConfigError
from exchange.mediator import Mediator
from exchange.processes import load_processes
from exchange.state import StateStore
from exchange.state.notices import notice_id, notices

TODAY = date(2026, 6, 1)


def mediator(bus: Bus, store: StateStore) -> Mediator:
    return Mediator(bus, store, load_processes(), today=lambda: TODAY)


def publish(bus: Bus, topic: str, *records: dict[str, Any]) -> None:
    publisher = bus.publisher()
    for record in records:
        publisher.publish(topic, record)
    publisher.flush()
    publisher.close()


def stored(store: StateStore) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(notices).order_by(notices.c.department)))


def sent_metric(department: str) -> float:
    value = REGISTRY.get_sample_value("exchange_notices_sent_total",
                                      {"process": "death-notice", "department": department})
    return value or 0.0


def test_a_death_is_noticed_once_per_department_with_a_deterministic_id(bus: Bus, store: StateStore) -> None:
    """A death and a funeral of one person give one notice per department, published with the stored id."""
    person = resident(date(1950, 1, 1))
    number = person["resident_id"]
    before = sent_metric("CIVIL_AFFAIRS")
    publish(bus, "public-security.residents", person)
    publish(bus, "public-security.deaths", death(number, TODAY - timedelta(days=3)))
    publish(bus, "civil-affairs.funerals", funeral(number, TODAY - timedelta(days=3)))
    stats = mediator(bus, store).run(until_caught_up=True)
    assert stats.notices == stats.notices_sent == 2
    rows = stored(store)
    assert [(r.department, r.entity_key, r.topic) for r in rows] == [
        ("CIVIL_AFFAIRS", number, "civil-affairs.notices"),
        ("HUMAN_RESOURCES_SOCIAL_SECURITY", number, "human-resources.notices")]
    assert rows[0].id == notice_id("death-notice", number, "CIVIL_AFFAIRS")
    assert all(r.sent_at is not None for r in rows)
    [record] = read_topic(bus, "civil-affairs.notices")
    assert str(record["id"]) == rows[0].id
    assert record["kind"] == "death"
    assert record["entity_key"] == number
    assert record["department"] == "CIVIL_AFFAIRS"
    values = {f["name"]: f for f in record["fields"]}
    assert values["name"]["value"] == "张桂英"
    assert values["death_date"]["source_department"] == "PUBLIC_SECURITY"
    assert sent_metric("CIVIL_AFFAIRS") == before + 1

    # A correction of the death record updates the form but never sends a second notice.
    correction = death(number, TODAY - timedelta(days=4))
    correction["meta"]["event_time"] += timedelta(hours=1)
    correction["meta"]["ingest_time"] += timedelta(hours=1)
    publish(bus, "public-security.deaths", correction)
    again = mediator(bus, store).run(until_caught_up=True)
    assert again.facts_changed == 1
    assert again.notices == 0
    assert len(stored(store)) == 2
    assert len(read_topic(bus, "civil-affairs.notices")) == 1


def test_a_crash_before_marking_sent_resends_the_same_notice(
    bus: Bus, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Published but not marked (a crash): the next run publishes it again with the same id, never a new one."""
    number = resident(date(1950, 1, 1))["resident_id"]
    publish(bus, "public-security.deaths", death(number, TODAY - timedelta(days=1)))

    def crash(*_args: Any) -> None:
        raise RuntimeError("killed after the bus acknowledged")

    monkeypatch.setattr("exchange.notices.mark_sent", crash)
    with pytest.raises(RuntimeError, match="killed"):
        mediator(bus, store).run(until_caught_up=True)
    assert len(stored(store)) == 2
    assert all(r.sent_at is None for r in stored(store))
    monkeypatch.undo()
    stats = mediator(bus, store).run(until_caught_up=True)
    assert stats.notices == 0
    assert stats.notices_sent == 2
    on_bus = read_topic(bus, "civil-affairs.notices") + read_topic(bus, "human-resources.notices")
    assert len(on_bus) > 2  # delivered at least once ...
    assert {str(n["id"]) for n in on_bus} == {r.id for r in stored(store)}  # ... and deduplicated by id


def test_a_process_may_only_notify_a_department_with_a_notice_topic(bus: Bus, store: StateStore) -> None:
    """A notice to a department without a notice topic is a configuration error at start."""
    [process] = [p for p in load_processes() if p.id == "death-notice"]
    spec = process.notices[0].model_copy(update={"department": "EDUCATION"})
    broken = process.model_copy(update={"notices": [spec]})
    with pytest.raises(ConfigError, match="EDUCATION, which has no topic with record_type notice"):
        Mediator(bus, store, [broken])


def test_notice_topics_are_not_read_by_the_mediator(bus: Bus, store: StateStore) -> None:
    """Notices are the mediator's output: its consumer never subscribes to them."""
    topics = mediator(bus, store).topics
    assert "civil-affairs.notices" not in topics
    assert "human-resources.notices" not in topics
