"""The mediator: consumes department records, keeps entity views, opens and updates forms.

Each polled batch is applied in one state-store transaction (which also records the next offset of
every partition it read); the bus offsets are committed only after that transaction. A record
re-delivered after a crash is applied again, and the event-time rule in ``Fact.supersedes`` leaves
the state unchanged: each record changes state exactly once. (Offsets are deliberately not used to
skip records: a replaced or truncated log would make stored offsets point past records never seen.)

Applying a record marks its entity as waiting for evaluation (in the same transaction); processes are
evaluated once the mediator has caught up with the bus, or when an entity has waited ``max_delay``.
So a backlog (a first load, a restart) is joined across all topics before any form opens: a resident
does not get a review form that the assistance record a few thousand offsets later would withdraw.
"""


from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from connectors import Consumer, Message, TopicPartition
from exchange import metrics
from exchange.bus import Bus, DecodedRecord, Publisher
from exchange.clock import now_ms, today_local
from exchange.dead_letters import DeadLetter
from exchange.entities import Fact, epoch_ms, json_value
from exchange.errors import CodecError, ConfigError, SchemaError
from exchange.evaluation import ProcessEvaluator, observe
from exchange.notices import NoticeOutbox, check_notice_topics, notice_topics
from exchange.processes.definition import ProcessDefinition
from exchange.state import StateStore
from exchange.state.facts import (
    entity_keys_after,
    load_views,
    mark_entities_pending,
    mark_pending,
    oldest_pending,
    take_pending,
    write_facts,
)
from exchange.state.forms import FormChange
from exchange.state.memberships import backfill_memberships, households_of, write_memberships

GROUP = "exchange-mediator"


@dataclass
class MediatorStats:
    consumed: int = 0
    facts_changed: int = 0
    unchanged: int = 0
    dead_letters: int = 0
    forms: Counter[str] = field(default_factory=Counter)
    notices: int = 0  # notices decided (written to the outbox); each exactly once in the state
    notices_sent: int = 0  # notices published from the outbox (a re-send after a crash counts again)

    def add(self, other: MediatorStats) -> None:
        self.consumed += other.consumed
        self.facts_changed += other.facts_changed
        self.unchanged += other.unchanged
        self.dead_letters += other.dead_letters
        self.forms.update(other.forms)
        self.notices += other.notices
        self.notices_sent += other.notices_sent


class Mediator:
    """Joins records per entity and keeps every enabled process's forms up to date."""

    def __init__(
        self,
        bus: Bus,
        store: StateStore,
        processes: list[ProcessDefinition],
        *,
        group: str = GROUP,
        today: Callable[[], date] = today_local,
        max_delay: float = 30.0,
    ) -> None:
        self.bus = bus
        self.store = store
        self.processes = processes
        self.group = group
        self.today = today
        self.max_delay_ms = int(max_delay * 1000)
        self.topics = sorted(name for name, spec in bus.topics.items() if spec.entity is not None)
        if not self.topics:
            raise ConfigError("no entity topics in the topic list: nothing for the mediator to read")
        check_notice_topics(processes, bus.topics)
        self.evaluator = ProcessEvaluator(processes, notice_topics(bus.topics))
        self.outbox = NoticeOutbox(bus, store)
        self._ends: dict[TopicPartition, int] = {}  # last end offsets seen, refreshed when reached
        # One publisher (one producer connection) for dead letters across batches, not one per batch.
        self._publisher: Publisher | None = None

    def close(self) -> None:
        """Release the dead-letter publisher (a later apply opens a new one)."""
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    # -- one batch

    def to_fact(self, record: DecodedRecord) -> Fact:
        spec, value = record.spec, record.value
        meta = value["meta"]
        deleted = meta.get("operation") == "DELETE"
        payload = {k: json_value(v) for k, v in value.items() if k != "meta"}
        return Fact(
            entity_type=str(spec.entity),
            entity_key=str(value[spec.key]),
            record_type=spec.record_type,
            fact_key=str(value.get(spec.fact_key, "")) if spec.fact_key else "",
            department=meta["source_department"],
            source_record_id=meta["source_record_id"],
            event_time=epoch_ms(meta["event_time"]),
            received_time=epoch_ms(meta["ingest_time"]),
            payload={} if deleted else payload,
            deleted=deleted,
        )

    def apply(
        self, messages: list[Message], consumer: Consumer | None = None, *, evaluate: bool = True
    ) -> MediatorStats:
        """Apply ``messages`` in one transaction, then commit their offsets on the bus.

        With ``evaluate`` the waiting entities are evaluated right away; the run loop defers that
        until it has caught up.
        """
        stats = MediatorStats()
        offsets: dict[tuple[str, int], int] = {}
        facts: list[Fact] = []
        publisher = self._publisher = self._publisher or self.bus.publisher()
        try:
            for message in messages:
                tp = (message.topic, message.partition)
                offsets[tp] = max(offsets.get(tp, 0), message.offset + 1)
                stats.consumed += 1
                metrics.RECORDS_CONSUMED.labels(message.topic).inc()
                try:
                    facts.append(self.to_fact(self.bus.decode(message)))
                except (CodecError, SchemaError, KeyError, TypeError, ValueError) as exc:
                    publisher.dead_letter(self._dead_letter(message, exc))
                    stats.dead_letters += 1
            publisher.flush()  # dead letters are durable before the offsets that skip them
        except BaseException:
            self.close()  # drop whatever was buffered: the batch will be redelivered
            raise
        with self.store.transaction() as conn:
            changed = self._changed_facts(conn, facts)
            stats.facts_changed, stats.unchanged = len(changed), len(facts) - len(changed)
            write_facts(conn, changed)
            write_memberships(conn, changed)
            mark_pending(conn, changed, now_ms())
            self._mark_households(conn, changed)
            self.store.save_offsets(conn, self.group, offsets)
        if consumer is not None and offsets:
            consumer.commit({TopicPartition(t, p): o for (t, p), o in offsets.items()})
        if evaluate:
            stats.add(self.evaluate_pending())
        return stats

    def evaluate_pending(self, chunk: int = 2000) -> MediatorStats:
        """Evaluate every entity waiting since its facts changed, then send the notices it decided."""
        stats = MediatorStats()
        today = self.today()
        while True:
            with self.store.transaction() as conn:
                waiting = take_pending(conn, chunk)
                touched: dict[str, set[str]] = {}
                for entity_type, key, _ in waiting:
                    touched.setdefault(entity_type, set()).add(key)
                result = self.evaluator.evaluate(conn, touched, today)
            self._observe(result.changes, stats, [ingest for _, _, ingest in waiting])
            stats.notices += result.notices
            if len(waiting) < chunk:
                stats.notices_sent += self.outbox.send()
                return stats

    def _evaluation_due(self, consumer: Consumer) -> bool:
        with self.store.engine.connect() as conn:
            since = oldest_pending(conn)
        return since is not None and (now_ms() - since >= self.max_delay_ms or self.caught_up(consumer))

    def _changed_facts(self, conn: object, facts: list[Fact]) -> list[Fact]:
        if not facts:
            return []
        current: dict[tuple[str, ...], Fact | None] = {}
        by_type: dict[str, set[str]] = {}
        for fact in facts:
            by_type.setdefault(fact.entity_type, set()).add(fact.entity_key)
        for entity_type, keys in by_type.items():
            for view in load_views(conn, entity_type, keys).values():  # type: ignore[arg-type]
                current.update({f.identity: f for f in view.facts})
        changed: dict[tuple[str, ...], Fact] = {}
        for fact in facts:  # in log order, so within a batch the newest record wins too
            if fact.supersedes(changed.get(fact.identity) or current.get(fact.identity)):
                changed[fact.identity] = fact
        return list(changed.values())

    def _mark_households(self, conn: object, changed: list[Fact]) -> None:
        """Queue the households of residents whose facts changed: household forms read member views."""
        if "household" not in self.evaluator.entity_types:
            return
        oldest: dict[str, int] = {}
        for fact in changed:
            if fact.entity_type == "resident":
                oldest[fact.entity_key] = min(oldest.get(fact.entity_key, fact.received_time), fact.received_time)
        if not oldest:
            return
        households = households_of(conn, oldest)  # type: ignore[arg-type]
        marks = {("household", h): min(oldest[r] for r in residents) for h, residents in households.items()}
        mark_entities_pending(conn, marks, now_ms())  # type: ignore[arg-type]

    def _dead_letter(self, message: Message, exc: Exception) -> DeadLetter:
        spec = self.bus.topics.get(message.topic)
        return DeadLetter.for_message(
            message,
            reason=getattr(exc, "reason", "invalid_record"),
            detail=f"{type(exc).__name__}: {exc}",
            stage="mediator",
            department=spec.department if spec else None,
            record_type=spec.record_type if spec else None,
        )

    @staticmethod
    def _observe(changes: list[FormChange], stats: MediatorStats, ingest_times: list[int]) -> None:
        for change in changes:
            stats.forms[change.kind] += 1
        observe(changes, ingest_times)

    # -- time-based triggers

    def refresh_if_new_day(self) -> MediatorStats:
        """Run :meth:`refresh` unless this group already evaluated everyone today (kept in the state store)."""
        mark, today = f"mediator:{self.group}:evaluated-day", self.today()
        if self.store.checkpoint(mark) == today.isoformat():
            return MediatorStats()
        stats = self.refresh(today)
        self.store.save_checkpoint(mark, today.isoformat())
        return stats

    def refresh(self, today: date | None = None, chunk: int = 2000) -> MediatorStats:
        """Re-evaluate every entity for ``today``: a resident turning 80 today gets a form today, a
        household's yearly review opens on the first day of the year. Walks the entities a page at a
        time (keyset order), so memory does not grow with their number."""
        today = today or self.today()
        stats = MediatorStats()
        for entity_type in sorted(self.evaluator.entity_types):
            after = ""
            while True:
                with self.store.transaction() as conn:
                    keys = entity_keys_after(conn, entity_type, after, chunk)
                    result = self.evaluator.evaluate(conn, {entity_type: set(keys)}, today)
                self._observe(result.changes, stats, [])
                stats.notices += result.notices
                if len(keys) < chunk:
                    break
                after = keys[-1]
        stats.notices_sent += self.outbox.send()
        return stats

    # -- the loop

    def caught_up(self, consumer: Consumer) -> bool:
        """Whether the whole group has applied everything on every partition it reads.

        This member's own partitions are judged by its positions; the others (held by another member,
        or still by one that crashed until the group notices) by the offsets the members stored with
        the state. A restarted member that finished its own share must not evaluate a half-applied
        backlog as if it were the whole picture. False until this member has partitions.
        """
        assigned = consumer.assignment()
        if not assigned:
            return False
        if any(consumer.position(tp) < self._ends.get(tp, 0) for tp in assigned):
            return False
        # Positions reached the ends last seen: ask the bus whether more arrived since.
        for topic in self.topics:
            for partition, end in self.bus.transport.end_offsets(topic).items():
                self._ends[TopicPartition(topic, partition)] = end
        if not all(consumer.position(tp) >= self._ends.get(tp, 0) for tp in assigned):
            return False
        stored = self.store.load_offsets(self.group)
        return all(stored.get((tp.topic, tp.partition), 0) >= end
                   for tp, end in self._ends.items() if tp not in assigned and end > 0)

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_caught_up: bool = False,
        max_records: int = 1000,
        progress: Callable[[MediatorStats], None] | None = None,
    ) -> MediatorStats:
        """Consume until ``stop`` is set (or, with ``until_caught_up``, until nothing is left to read)."""
        with self.store.transaction() as conn:
            backfill_memberships(conn)  # a store from before the membership index
        total = self.refresh_if_new_day()  # time-based triggers: ages move on without new records
        total.notices_sent += self.outbox.send()  # left in the outbox by a crash
        with self.bus.consumer(self.group, self.topics) as consumer:
            try:
                self._loop(consumer, total, stop, until_caught_up, max_records, progress)
            finally:
                self.close()
        return total

    def _loop(
        self,
        consumer: Consumer,
        total: MediatorStats,
        stop: threading.Event | None,
        until_caught_up: bool,
        max_records: int,
        progress: Callable[[MediatorStats], None] | None,
    ) -> None:
        """Poll, apply and evaluate until ``stop`` (or caught up, when asked)."""
        last_day = self.today()
        while not (stop and stop.is_set()):
            if until_caught_up and self.caught_up(consumer):
                total.add(self.evaluate_pending())
                break
            messages = consumer.poll(max_records=max_records, timeout=0.5)
            if messages:
                with metrics.MEDIATOR_BATCH_SECONDS.time():
                    batch = self.apply(messages, consumer, evaluate=False)
                total.add(batch)
                if progress:
                    progress(batch)
            if self._evaluation_due(consumer):
                total.add(self.evaluate_pending())
            if self.today() != last_day:
                last_day = self.today()
                total.add(self.refresh_if_new_day())
