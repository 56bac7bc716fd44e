"""How a department reads its feedback: staff corrections of the values it shared (the closed loop).

Each correction of a pre-filled value arrives on the source department's feedback topic
(``<department>.feedback``, e.g. ``public-security.feedback``) as a ``gov.exchange.common.Feedback``
record naming the source record, the value as shared, the value staff found, why, and the date the
department should answer by. A department adapter reads them as a consumer group::

    for item in read_feedback(bus, "PUBLIC_SECURITY", group="public-security-registry"):
        if not seen(item.feedback_id):   # delivery is at least once: dedupe by feedback_id
            open_correction_request(item)

Offsets are committed after each polled batch has been handed out, so leaving the loop in the middle of
a batch (or a crash) delivers that batch again next time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from exchange.bus import Bus
from exchange.push.keys import parse_department
from exchange.topics import topic_for


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """One staff correction of one value of one source record (values decoded from their JSON text)."""

    feedback_id: str
    department: str
    form_id: str
    form_revision: int
    process: str
    entity_type: str
    entity_key: str
    field: str
    field_label: str
    source_record_type: str
    source_record_id: str
    source_event_time: datetime | None
    value_at_source: Any
    corrected_value: Any
    reason: str
    corrected_by: str
    corrected_at: datetime
    answer_due: date

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FeedbackItem:
        def value(text: str | None) -> Any:
            return None if text is None else json.loads(text)

        return cls(**(record | {"feedback_id": str(record["feedback_id"]),
                                "value_at_source": value(record["value_at_source"]),
                                "corrected_value": value(record["corrected_value"])}))


def feedback_topic(department: str) -> str:
    """The feedback topic of ``department`` (a symbol like ``PUBLIC_SECURITY`` or a slug like ``civil-affairs``)."""
    return topic_for(parse_department(department), "feedback").name


def read_feedback(
    bus: Bus, department: str, group: str, *, timeout: float = 1.0, max_records: int = 500
) -> Iterator[FeedbackItem]:
    """Every feedback record for ``department`` not yet read by ``group``; stops when none is left.

    Commits the group's offsets after each batch is handed out; raises ConfigError for an unknown
    department and CodecError for a record that does not decode.
    """
    topic = feedback_topic(department)
    with bus.consumer(group, [topic]) as consumer:
        while batch := consumer.poll(max_records=max_records, timeout=timeout):
            for message in batch:
                yield FeedbackItem.from_record(bus.decode(message).value)
            consumer.commit()


__all__ = ["FeedbackItem", "feedback_topic", "read_feedback"]
