"""Cross-department notices: built from a process's evaluated form, published from the state outbox.

A notice is decided in the same state transaction as the evaluation that triggers it
(:func:`notice_rows` → :func:`exchange.state.notices.write_notices`), then :class:`NoticeOutbox`
publishes the unsent ones to the receiving department's notice topic (``record_type: notice`` in
``schemas/topics.yaml``, e.g. ``civil-affairs.notices``) and marks them sent once the bus acknowledged
them. See :mod:`exchange.state.notices` for the exactly-once / at-least-once argument.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from exchange import metrics
from exchange.bus import Bus
from exchange.clock import now_ms
from exchange.errors import ConfigError
from exchange.processes.cycles import split_form_key
from exchange.processes.definition import ProcessDefinition
from exchange.processes.engine import FormDraft
from exchange.state import StateStore
from exchange.state.notices import mark_sent, notice_id, unsent
from exchange.topics import TopicSpec

NOTICE_RECORD_TYPE = "notice"


def notice_topics(topics: dict[str, TopicSpec]) -> dict[str, str]:
    """Department → the topic its notices go to."""
    return {spec.department: name for name, spec in sorted(topics.items()) if spec.record_type == NOTICE_RECORD_TYPE}


def check_notice_topics(processes: list[ProcessDefinition], topics: dict[str, TopicSpec]) -> None:
    """Raise ConfigError when a process notifies a department that has no notice topic."""
    known = notice_topics(topics)
    for process in processes:
        for notice in process.notices:
            if notice.department not in known:
                raise ConfigError(f"process {process.id!r} sends notices to {notice.department}, which has no "
                                  f"topic with record_type notice in schemas/topics.yaml")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _notice_field(field: dict[str, Any]) -> dict[str, Any]:
    source = field.get("provenance") if isinstance(field.get("provenance"), dict) else {}
    event = source.get("event_time") if source else None
    return {
        "name": field["name"],
        "label": field["label"]["zh"],
        "value": _text(field["value"]),
        "source_department": source.get("department") if source and "computed" not in source else None,
        "source_record_id": source.get("source_record_id") if source else None,
        "event_time": int(datetime.fromisoformat(event).timestamp() * 1000) if event else None,
    }


def notice_rows(process: ProcessDefinition, stored_key: str, draft: FormDraft, topics: dict[str, str],
                now: int) -> list[dict[str, Any]]:
    """The notice rows ``process`` sends about the form stored under ``stored_key``."""
    entity_key, period = split_form_key(stored_key)
    rows = []
    for spec in process.notices:
        ident = notice_id(process.id, stored_key, spec.department)
        fields = [_notice_field(f) for name in spec.fields if (f := draft.field_value(name)) is not None]
        record = {"id": ident, "kind": spec.kind, "process_id": process.id, "process_version": process.version,
                  "department": spec.department, "entity_type": draft.entity_type, "entity_key": entity_key,
                  "period": period, "title": draft.title, "grid_code": draft.grid_code, "fields": fields}
        rows.append({"id": ident, "process_id": process.id, "entity_type": draft.entity_type,
                     "entity_key": stored_key, "department": spec.department, "topic": topics[spec.department],
                     "kind": spec.kind, "record": record, "process_version": process.version,
                     "created_at": now, "sent_at": None})
    return rows


class NoticeOutbox:
    """Publishes unsent notices, in batches, each batch marked sent after the bus acknowledged it."""

    def __init__(self, bus: Bus, store: StateStore, batch: int = 500) -> None:
        self.bus = bus
        self.store = store
        self.batch = batch

    def send(self) -> int:
        """Publish every unsent notice; return how many were published."""
        sent = 0
        while True:
            with self.store.transaction() as conn:
                rows = unsent(conn, self.batch)
                if not rows:
                    return sent
                publisher = self.bus.publisher()
                try:
                    for row in rows:
                        record = dict(row.record) | {"created_at": datetime.fromtimestamp(row.created_at / 1000, UTC)}
                        publisher.publish(row.topic, record)
                    publisher.flush()  # acknowledged before marked: a crash here re-sends, never loses
                finally:
                    publisher.close()
                mark_sent(conn, [r.id for r in rows], now_ms())
            for row in rows:
                metrics.NOTICES_SENT.labels(row.process_id, row.department).inc()
            sent += len(rows)
            if len(rows) < self.batch:
                return sent
