"""Evaluating processes over a chunk of entities inside one state transaction.

For each entity type the chunk's views are loaded with one batched query (households with their
members' resident views, :mod:`exchange.household_views`); each enabled process is evaluated over
them; forms are stored (:func:`exchange.state.forms.store_evaluations`) and notices written to the
outbox (:mod:`exchange.state.notices`) in the caller's transaction, so both happen exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection

from exchange import metrics
from exchange.clock import now_ms
from exchange.entities import EntityView
from exchange.household_views import load_members
from exchange.notices import notice_rows
from exchange.processes.cycles import form_key, previous_form_key
from exchange.processes.definition import ProcessDefinition
from exchange.processes.engine import FormDraft, evaluate
from exchange.processes.scope import Member
from exchange.state.facts import load_views
from exchange.state.forms import FormChange, store_evaluations
from exchange.state.notices import write_notices


@dataclass
class Evaluation:
    """What evaluating a chunk changed: form changes and notices newly written to the outbox."""

    changes: list[FormChange] = field(default_factory=list)
    notices: int = 0


class ProcessEvaluator:
    """Evaluates the enabled processes for chunks of entities."""

    def __init__(self, processes: list[ProcessDefinition], notice_topics: dict[str, str]) -> None:
        self.processes = processes
        self.notice_topics = notice_topics

    @property
    def entity_types(self) -> set[str]:
        return {p.entity for p in self.processes}

    def evaluate(self, conn: Connection, touched: dict[str, set[str]], today: date) -> Evaluation:
        """Evaluate every process for the entities in ``touched`` (entity type → keys)."""
        result = Evaluation()
        for entity_type, keys in touched.items():
            processes = [p for p in self.processes if p.entity == entity_type]
            if not processes or not keys:
                continue
            views = load_views(conn, entity_type, keys)
            members = load_members(conn, views) if entity_type == "household" else {}
            for process in processes:
                self._evaluate_process(conn, process, views, members, today, result)
        return result

    def _evaluate_process(self, conn: Connection, process: ProcessDefinition, views: dict[str, EntityView],
                          members: dict[str, list[Member]], today: date, result: Evaluation) -> None:
        now = now_ms()
        results: dict[str, FormDraft | None] = {}
        for key, view in views.items():
            results[form_key(process, key, today)] = evaluate(process, view, today, members.get(key))
        for key in views:  # a new period supersedes the last period's form still waiting for review
            previous = previous_form_key(process, key, today)
            if previous is not None:
                results.setdefault(previous, None)
        result.changes.extend(store_evaluations(conn, process.id, process.entity, results, now))
        if process.notices:
            rows = [row for stored, draft in results.items() if draft is not None
                    for row in notice_rows(process, stored, draft, self.notice_topics, now)]
            result.notices += write_notices(conn, rows)


def observe(changes: list[FormChange], ingest_times: list[int]) -> None:
    """Count the form changes and the ingest-to-form latency in the metrics."""
    for change in changes:
        if change.kind == "created" and change.draft is not None:
            metrics.FORMS_CREATED.labels(change.process_id).inc()
            metrics.FIELDS_FILLED.labels(change.process_id, "department").inc(change.draft.prefilled_count)
            metrics.FIELDS_FILLED.labels(change.process_id, "staff").inc(change.draft.manual_count)
        elif change.kind in ("updated", "reopened"):
            metrics.FORMS_UPDATED.labels(change.process_id).inc()
    done = now_ms()
    for ingest in ingest_times:
        metrics.INGEST_TO_FORM_SECONDS.observe(max(0, done - ingest) / 1000)
