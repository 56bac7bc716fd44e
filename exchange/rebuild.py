"""Rebuilding the mediator's state from the topics (``exchange rebuild``).

The rebuild works in place, on the tables the mediator derives from the topics, in an order that is
safe to interrupt at any point:

1. the mediator's consumer group is rewound to offset 0 on every entity topic (refused while another
   member of the group is live: stop ``exchange run mediator`` first);
2. the derived tables are emptied in one transaction, with the group's state-store offsets and the
   mediator's checkpoints;
3. the mediator replays every entity topic from the start and evaluates, exactly as a first run does.

A crash after step 1 leaves the group at 0, so a second ``exchange rebuild`` (or just restarting the
mediator) replays everything again; a crash in step 3 leaves committed offsets that match the state.

Why in place rather than into a new database swapped in afterwards: the state store also holds what
the topics cannot give back (adapter watermarks, processed files, the schema registry, API keys);
copying those across stores and swapping a SQLite file under running readers, or creating
databases on PostgreSQL (a privilege a county's database user often lacks), is riskier than the
interruption-safe in-place order above. The price: readers see the state fill up during a rebuild.

Tables that hold staff work (decisions on forms, corrections not yet sent) are not in the topics. A
table opts out of the rebuild with ``Table(..., info={"rebuild": "keep"})``; forms that carry a staff
decision make the rebuild refuse unless the caller agrees to discard them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, func, select

from connectors import Consumer, TopicPartition
from exchange.bus import Bus
from exchange.clock import today_local
from exchange.errors import ExchangeError
from exchange.mediator import GROUP, Mediator, MediatorStats
from exchange.processes.definition import ProcessDefinition
from exchange.state import StateStore
from exchange.state.forms import PENDING, SUPERSEDED
from exchange.state.snapshot import BOOKKEEPING
from exchange.state.tables import checkpoints, consumer_offsets, forms, metadata


class RebuildError(ExchangeError, RuntimeError):
    """The rebuild was refused (a live mediator, staff work that would be lost)."""


@dataclass
class RebuildResult:
    records: int = 0
    cleared: dict[str, int] = field(default_factory=dict)
    stats: MediatorStats = field(default_factory=MediatorStats)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"records_on_topics": self.records, "records_applied": self.stats.consumed,
                "facts_changed": self.stats.facts_changed, "unchanged": self.stats.unchanged,
                "dead_letters_skipped": self.stats.dead_letters, "forms": dict(self.stats.forms),
                "rows_cleared": self.cleared, "rows_now": self.counts, "seconds": round(self.seconds, 2)}


def derived_tables() -> list[Table]:
    """Tables holding what the mediator derives from the topics (emptied and refilled by a rebuild).

    The evaluation queue is derived too, though the snapshot leaves it out as bookkeeping.
    """
    kept = BOOKKEEPING - {"pending_evaluations"}
    return [t for t in metadata.sorted_tables if t.name not in kept and t.info.get("rebuild") != "keep"]


def staff_decisions(conn: Connection) -> int:
    """Forms whose status a person set (anything but pending review or superseded)."""
    return conn.execute(select(func.count()).select_from(forms)
                        .where(forms.c.status.not_in([PENDING, SUPERSEDED]))).scalar_one()


class _SkippedDeadLetters:
    """Stands in for the dead-letter publisher during a replay: the first run already sent them."""

    def dead_letter(self, _letter: object) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class ReplayMediator(Mediator):
    """The mediator, replaying: records it cannot decode are counted, not dead-lettered a second time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Relies on Mediator reusing ``_publisher`` across batches (see the report to the mediator owner).
        self._publisher = _SkippedDeadLetters()  # type: ignore[assignment]

    def close(self) -> None:
        self._publisher = _SkippedDeadLetters()  # type: ignore[assignment]


def rewind_group(bus: Bus, group: str, topics: list[str], timeout: float = 30.0) -> int:
    """Commit offset 0 for ``group`` on every partition of ``topics``; return the records on them.

    Needs every partition assigned to this one member, so it refuses while another member is live.
    """
    wanted = {TopicPartition(t, p) for t in topics for p in bus.transport.end_offsets(t)}
    records = sum(sum(bus.transport.end_offsets(t).values()) for t in topics)
    consumer: Consumer
    with bus.consumer(group, topics, client_id="exchange-rebuild") as consumer:
        deadline = time.monotonic() + timeout
        while consumer.assignment() != wanted:
            if time.monotonic() > deadline:
                missing = len(wanted - consumer.assignment())
                raise RebuildError(f"another member of group {group!r} holds {missing} partitions: stop "
                                   "`exchange run mediator` everywhere before rebuilding")
            consumer.poll(max_records=1, timeout=0.5)
        consumer.commit(dict.fromkeys(wanted, 0))
    return records


def clear_derived(store: StateStore, group: str) -> dict[str, int]:
    """Empty the derived tables and the mediator's bookkeeping of ``group``, in one transaction."""
    cleared = {}
    with store.transaction() as conn:
        for table in reversed(derived_tables()):  # children before parents
            cleared[table.name] = conn.execute(table.delete()).rowcount
        conn.execute(consumer_offsets.delete().where(consumer_offsets.c.group_id == group))
        conn.execute(checkpoints.delete().where(checkpoints.c.name.like(f"mediator:{group}:%")))
    return cleared


def rebuild(
    bus: Bus,
    store: StateStore,
    processes: list[ProcessDefinition],
    *,
    group: str = GROUP,
    today: Callable[[], date] = today_local,
    discard_staff_work: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RebuildResult:
    """Replace the derived state by a replay of every entity topic from offset 0; see the module doc."""
    started = time.monotonic()
    store.create_schema()
    with store.engine.connect() as conn:
        decided = staff_decisions(conn)
    if decided and not discard_staff_work:
        raise RebuildError(f"{decided} forms carry a staff decision that the topics cannot restore; "
                           "pass --discard-staff-work to rebuild anyway")
    mediator = ReplayMediator(bus, store, processes, group=group, today=today)
    result = RebuildResult()
    result.records = rewind_group(bus, group, mediator.topics)
    if on_total:
        on_total(result.records)
    result.cleared = clear_derived(store, group)
    result.stats = mediator.run(until_caught_up=True,
                                progress=(lambda batch: on_batch(batch.consumed)) if on_batch else None)
    with store.engine.connect() as conn:
        result.counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                         for t in derived_tables()}
    result.seconds = time.monotonic() - started
    return result
