"""Metrics read from the state store at scrape time, so any process serving /metrics reports them."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from exchange.bus import transport_for
from exchange.mediator import GROUP
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.feedback import outbox_counts
from exchange.state.forms import STATUSES, form_counts
from exchange.topics import load_topics


class StateCollector(Collector):
    """Forms by process and status, the fields they pre-fill versus leave to staff, and queued feedback."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        forms = GaugeMetricFamily("exchange_forms", "Forms by process and status.", labels=["process", "status"])
        fields = GaugeMetricFamily(
            "exchange_form_fields_current", "Fields on current forms, by who fills them.",
            labels=["process", "filled_by"],
        )
        feedback = GaugeMetricFamily(
            "exchange_feedback_queued", "Staff corrections not yet acknowledged by the bus, by source department.",
            labels=["department"],
        )
        try:
            with self.store.engine.connect() as conn:
                counts = form_counts(conn)
                outbox = outbox_counts(conn)
        except Exception:  # an unreachable store must not break the whole scrape; /readyz reports it
            return
        filled: dict[tuple[str, str], int] = {}
        by_status: dict[tuple[str, str], int] = {}
        for process, status, count, prefilled, manual in counts:
            by_status[(process, status)] = count
            filled[(process, "department")] = filled.get((process, "department"), 0) + prefilled
            filled[(process, "staff")] = filled.get((process, "staff"), 0) + manual
        for process in sorted({p for p, _ in by_status}):  # every status of a process, 0 included
            for status in STATUSES:
                forms.add_metric([process, status], by_status.get((process, status), 0))
        for (process, who), value in sorted(filled.items()):
            fields.add_metric([process, who], value)
        for department, sent, count in sorted(outbox):
            if not sent:
                feedback.add_metric([department], count)
        yield forms
        yield fields
        yield feedback


class BusCollector(Collector):
    """Messages per topic and the mediator's lag per partition, read from the bus at scrape time."""

    def __init__(self, settings: Settings, group: str = GROUP) -> None:
        self.settings = settings
        self.group = group

    def collect(self) -> Iterator[GaugeMetricFamily]:
        messages = GaugeMetricFamily("exchange_topic_messages", "Messages ever written to a topic.", labels=["topic"])
        lag = GaugeMetricFamily("exchange_consumer_lag_messages", "Messages not yet applied by a consumer group.",
                                labels=["group", "topic", "partition"])
        try:
            with transport_for(self.settings) as transport:
                for topic in sorted(transport.topics()):
                    ends = transport.end_offsets(topic)
                    messages.add_metric([topic], sum(ends.values()))
                    spec = load_topics().get(topic)
                    if spec is None or spec.entity is None:
                        continue
                    committed = transport.committed_offsets(self.group, topic)
                    for partition, end in sorted(ends.items()):
                        lag.add_metric([self.group, topic, str(partition)], end - committed.get(partition, 0))
        except Exception:  # an unreachable bus must not break the whole scrape; /readyz reports it
            return
        yield messages
        yield lag
