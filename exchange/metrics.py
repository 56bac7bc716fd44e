"""Prometheus metrics of the bus (one registry: prometheus-client's default, with process metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

from exchange import __version__

RECORDS_PRODUCED = Counter(
    "exchange_records_produced", "Records acknowledged by the bus.", ["topic"]
)
RECORDS_CONSUMED = Counter(
    "exchange_records_consumed", "Records read from the bus by the mediator.", ["topic"]
)
RECORDS_REJECTED = Counter(
    "exchange_records_rejected", "Records sent to the dead-letter topic.", ["department", "topic", "reason"]
)
FORMS_CREATED = Counter("exchange_forms_created", "Pre-filled forms created.", ["process"])
FORMS_UPDATED = Counter("exchange_forms_updated", "Pre-filled forms re-computed with new inputs.", ["process"])
FIELDS_FILLED = Counter(
    "exchange_form_fields", "Form fields on created forms, by who fills them.", ["process", "filled_by"]
)
NOTICES_SENT = Counter(
    "exchange_notices_sent", "Notices acknowledged by the bus (a re-send after a crash counts again).",
    ["process", "department"],
)
INGEST_TO_FORM_SECONDS = Histogram(
    "exchange_ingest_to_form_seconds",
    "Time from an adapter reading a record to the mediator committing its effect.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
MEDIATOR_BATCH_SECONDS = Histogram("exchange_mediator_batch_seconds", "Time to apply one polled batch.")
SOURCE_WATERMARK_TIMESTAMP = Gauge(
    "exchange_source_watermark_timestamp_seconds", "Event time of the newest record read from a source.", ["source"]
)
BUILD_INFO = Info("exchange_build", "Version of the exchange bus.")
BUILD_INFO.info({"version": __version__})
