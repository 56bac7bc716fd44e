"""Process cycles: ``once`` keeps one form per entity; ``yearly`` opens a new form every calendar year.

The forms table holds one form per (process, entity key), so a yearly form is stored under the entity
key with its period appended (``5301241012010001@2026``); :func:`split_form_key` gives both back.
"""

from __future__ import annotations

from datetime import date

from exchange.processes.definition import ProcessDefinition

PERIOD_SEPARATOR = "@"


def period_of(process: ProcessDefinition, today: date) -> str | None:
    """The period a form opened on ``today`` belongs to (None for ``once``)."""
    return str(today.year) if process.cycle == "yearly" else None


def form_key(process: ProcessDefinition, entity_key: str, today: date) -> str:
    """The key the form of ``entity_key`` is stored under on ``today``."""
    period = period_of(process, today)
    return entity_key if period is None else f"{entity_key}{PERIOD_SEPARATOR}{period}"


def previous_form_key(process: ProcessDefinition, entity_key: str, today: date) -> str | None:
    """The key of the previous period's form (None for ``once``)."""
    if process.cycle != "yearly":
        return None
    return f"{entity_key}{PERIOD_SEPARATOR}{today.year - 1}"


def split_form_key(stored: str) -> tuple[str, str | None]:
    """(entity key, period or None) of a stored form key."""
    key, separator, period = stored.partition(PERIOD_SEPARATOR)
    return key, (period if separator else None)
