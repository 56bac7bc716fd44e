"""Publishing the feedback outbox: staff corrections to the source departments' feedback topics.

``publish_unsent`` publishes what the outbox holds, waits for the bus to acknowledge it, then marks it
sent. Delivery is at least once: a crash (or a second publisher) between the publish and the mark sends
the same ``feedback_id`` again, and consumers (``adapters.feedback``) dedupe by it.
"""

from __future__ import annotations

import threading
from collections import Counter

from exchange.bus import Bus
from exchange.clock import now_ms
from exchange.lifecycle_metrics import FEEDBACK_SENT
from exchange.registry import SchemaRegistry
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.feedback import mark_sent, to_avro, unsent


def publish_unsent(store: StateStore, bus: Bus, *, batch: int = 500) -> int:
    """Publish every unsent feedback record and mark it sent; return how many were sent.

    Raises TransportError (nothing marked) when the bus does not acknowledge a batch.
    """
    sent = 0
    while True:
        with store.engine.connect() as conn:
            rows = unsent(conn, batch)
        if not rows:
            return sent
        publisher = bus.publisher()
        try:
            for row in rows:
                publisher.publish(row.topic, to_avro(row.record))
            publisher.flush()
        finally:
            publisher.close()
        with store.transaction() as conn:
            mark_sent(conn, [row.id for row in rows], now_ms())
        for department, count in Counter(row.department for row in rows).items():
            FEEDBACK_SENT.labels(department).inc(count)
        sent += len(rows)
        if len(rows) < batch:
            return sent


class FeedbackRelay:
    """A long-lived process's feedback publisher: opens its bus on first use, one relay at a time."""

    def __init__(self, settings: Settings, store: StateStore, registry: SchemaRegistry) -> None:
        self.settings, self.store, self.registry = settings, store, registry
        self._bus: Bus | None = None
        self._lock = threading.Lock()  # transports do not promise thread safety

    def relay(self) -> int:
        """Publish the outbox now; return how many records were sent (the bus is opened only when needed)."""
        with self._lock:
            if self._bus is None:
                with self.store.engine.connect() as conn:
                    if not unsent(conn, 1):
                        return 0
                bus = Bus.open(self.settings, self.registry)
                try:
                    bus.ensure_topics()  # a bus created before the feedback topics existed lacks them
                except BaseException:
                    bus.close()
                    raise
                self._bus = bus
            try:
                return publish_unsent(self.store, self._bus)
            except BaseException:
                self._close()  # reconnect next time
                raise

    def _close(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def close(self) -> None:
        with self._lock:
            self._close()
