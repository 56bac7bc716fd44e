"""Prometheus metrics of the form lifecycle: staff reviews and the feedback they send to departments."""

from __future__ import annotations

from prometheus_client import Counter

FORMS_REVIEWED = Counter(
    "exchange_forms_reviewed", "Staff decisions on forms, by process and outcome.", ["process", "outcome"]
)
FEEDBACK_SENT = Counter(
    "exchange_feedback_sent", "Feedback records (staff corrections) acknowledged by the bus, by source department.",
    ["department"],
)
