"""The feedback outbox: staff corrections as ``gov.exchange.common.Feedback`` records for the source departments.

Rows are written in the transaction of the correction, with a deterministic id (the same correction
always yields the same id), and published by ``exchange.feedback.publish_unsent``, which marks them sent
after the bus acknowledged them. A crash between the two publishes them again under the same id, so a
department's consumer must dedupe by ``feedback_id``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from exchange.clock import CHINA_TIME
from exchange.entities import epoch_ms
from exchange.errors import ConfigError
from exchange.state.tables import feedback_outbox
from exchange.topics import topic_for

ANSWER_WITHIN_DAYS = 14  # about ten working days for the department to answer a correction
_NAMESPACE = uuid.UUID("6f1c2d4e-5b8a-4e21-9c3d-0a7b1e2f3c4d")


def feedback_id(form_id: str, revision: int, field: str, department: str, record_type: str, record_id: str) -> str:
    """The id of the feedback on one source record for one corrected field of one form revision."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join([form_id, str(revision), field, department, record_type,
                                                   record_id])))


def _sources(provenance: Any) -> list[dict[str, Any]]:
    """The distinct source records behind a value (a collected field has several; a missing one none)."""
    listed = provenance if isinstance(provenance, list) else [provenance] if isinstance(provenance, dict) else []
    seen, out = set(), []
    for source in listed:
        key = (source.get("department"), source.get("record_type"), source.get("source_record_id"))
        if None not in key and key not in seen:
            seen.add(key)
            out.append(source)
    return out


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _event_ms(text: str | None) -> int | None:
    return None if not text else epoch_ms(datetime.fromisoformat(text))


def write_feedback(
    conn: Connection, form: Any, revision: int, corrections: list[dict[str, Any]], actor: str, now: int,
    *, answer_within_days: int = ANSWER_WITHIN_DAYS,
) -> list[str]:
    """Queue one feedback record per source record behind each corrected value; return their ids.

    ``form`` is the form row before the correction and ``revision`` the revision corrected. Values no
    department supplied, or whose department has no feedback topic, queue nothing (the history keeps them).
    """
    labels = {f["name"]: (f.get("label") or {}).get("zh", f["name"]) for f in form.fields}
    due = (datetime.fromtimestamp(now / 1000, CHINA_TIME).date() + timedelta(days=answer_within_days)).isoformat()
    rows: dict[str, dict[str, Any]] = {}
    for correction in corrections:
        original = correction["original"]
        for source in _sources(original["provenance"]):
            try:
                topic = topic_for(source["department"], "feedback").name
            except ConfigError:
                continue
            ident = feedback_id(form.id, revision, correction["field"], source["department"], source["record_type"],
                                source["source_record_id"])
            record = {
                "feedback_id": ident, "department": source["department"], "form_id": form.id,
                "form_revision": revision, "process": form.process_id, "entity_type": form.entity_type,
                "entity_key": form.entity_key, "field": correction["field"],
                "field_label": labels.get(correction["field"], correction["field"]),
                "source_record_type": source["record_type"], "source_record_id": source["source_record_id"],
                "source_event_time": _event_ms(source.get("event_time")),
                "value_at_source": _json_text(original["value"]), "corrected_value": _json_text(correction["value"]),
                "reason": correction["reason"], "corrected_by": actor, "corrected_at": now, "answer_due": due,
            }
            rows[ident] = {"id": ident, "topic": topic, "department": source["department"], "record": record,
                           "created_at": now, "sent_at": None}
    if rows:
        conn.execute(feedback_outbox.insert(), list(rows.values()))
    return list(rows)


def to_avro(record: dict[str, Any]) -> dict[str, Any]:
    """An outbox record as the Feedback schema takes it (times as datetimes, the deadline as a date)."""
    def moment(ms: int | None) -> datetime | None:
        return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)

    return record | {
        "source_event_time": moment(record["source_event_time"]),
        "corrected_at": moment(record["corrected_at"]),
        "answer_due": datetime.fromisoformat(record["answer_due"]).date(),
    }


def unsent(conn: Connection, limit: int = 500) -> list[Any]:
    """Feedback rows not yet acknowledged by the bus, oldest first."""
    return list(conn.execute(
        select(feedback_outbox).where(feedback_outbox.c.sent_at.is_(None))
        .order_by(feedback_outbox.c.created_at, feedback_outbox.c.id).limit(limit)
    ))


def mark_sent(conn: Connection, ids: list[str], now: int) -> None:
    if ids:
        conn.execute(feedback_outbox.update().where(feedback_outbox.c.id.in_(ids)).values(sent_at=now))


def outbox_counts(conn: Connection) -> list[tuple[str, bool, int]]:
    """Per department: (department, sent, number of feedback records)."""
    rows = conn.execute(
        select(feedback_outbox.c.department, feedback_outbox.c.sent_at.is_not(None), func.count())
        .group_by(feedback_outbox.c.department, feedback_outbox.c.sent_at.is_not(None))
    )
    return [(r[0], bool(r[1]), int(r[2])) for r in rows]
