"""Metrics read from the state store at scrape time, so any process serving /metrics reports them."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from exchange.state import StateStore
from exchange.state.forms import form_counts


class StateCollector(Collector):
    """Forms by process and status, and the fields they pre-fill versus leave to staff."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        forms = GaugeMetricFamily("exchange_forms", "Forms by process and status.", labels=["process", "status"])
        fields = GaugeMetricFamily(
            "exchange_form_fields_current", "Fields on current forms, by who fills them.",
            labels=["process", "filled_by"],
        )
        try:
            with self.store.engine.connect() as conn:
                counts = form_counts(conn)
        except Exception:  # an unreachable store must not break the whole scrape; /readyz reports it
            return
        filled: dict[tuple[str, str], int] = {}
        for process, status, count, prefilled, manual in counts:
            forms.add_metric([process, status], count)
            filled[(process, "department")] = filled.get((process, "department"), 0) + prefilled
            filled[(process, "staff")] = filled.get((process, "staff"), 0) + manual
        for (process, who), value in sorted(filled.items()):
            fields.add_metric([process, who], value)
        yield forms
        yield fields
