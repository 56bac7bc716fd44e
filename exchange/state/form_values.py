"""Checking what staff enter on a form: manual field values by kind, corrections of pre-filled values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

MAX_TEXT = 2000  # characters in a text value or a reason


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: ``where`` is ``manual``, ``corrections`` or ``body``."""

    field: str
    message: str
    where: str = "manual"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "in": self.where, "message": self.message}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def manual_value(spec: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """``value`` normalised for the manual field ``spec`` (its kind and choices), or an error message."""
    kind = spec.get("kind", "text")
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "number":
        if isinstance(value, bool):
            return None, "must be a number"
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(",", ""))
            except ValueError:
                return None, f"{value!r} is not a number"
            value = int(value) if value.is_integer() else value
        if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
            return None, "must be a number"
        return value, None
    if not isinstance(value, str):
        return None, "must be text"
    value = value.strip()
    if kind == "date":
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            return None, f"{value!r} is not a date (YYYY-MM-DD)"
        return (parsed.isoformat(), None) if len(value) == 10 else (None, f"{value!r} is not a date (YYYY-MM-DD)")
    if kind == "choice":
        choices = spec.get("choices") or []
        return (value, None) if value in choices else (None, f"{value!r} is not one of {', '.join(choices)}")
    return (value, None) if len(value) <= MAX_TEXT else (None, f"longer than {MAX_TEXT} characters")


def check_manual(specs: list[dict[str, Any]], given: dict[str, Any]) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """The manual fields with ``given`` values filled in, and every error: unknown names, wrong kinds, and
    required fields left empty."""
    errors = [FieldError(name, "no such manual field on this form") for name in given
              if name not in {s["name"] for s in specs}]
    filled = []
    for spec in specs:
        value = given.get(spec["name"])
        if _empty(value):
            if spec.get("required", True):
                errors.append(FieldError(spec["name"], "required"))
            filled.append(spec | {"value": None})
            continue
        normalised, problem = manual_value(spec, value)
        if problem:
            errors.append(FieldError(spec["name"], problem))
        filled.append(spec | {"value": normalised})
    return filled, errors


def check_corrections(
    fields: list[dict[str, Any]], manual: list[dict[str, Any]], corrections: list[tuple[str, Any, str]]
) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Corrections as stored (with the original value and its provenance), and every error."""
    by_name = {f["name"]: f for f in fields}
    manual_names = {m["name"] for m in manual}
    errors: list[FieldError] = []
    stored: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name, value, reason in corrections:
        original = by_name.get(name)
        if name in manual_names:
            errors.append(FieldError(name, "a manual field is filled in, not corrected", "corrections"))
        elif original is None:
            errors.append(FieldError(name, "no such pre-filled field on this form", "corrections"))
        elif name in seen:
            errors.append(FieldError(name, "corrected twice", "corrections"))
        elif _empty(reason):
            errors.append(FieldError(name, "a correction needs a reason", "corrections"))
        elif len(reason) > MAX_TEXT:
            errors.append(FieldError(name, f"the reason is longer than {MAX_TEXT} characters", "corrections"))
        elif value == original.get("value"):
            errors.append(FieldError(name, "equals the pre-filled value: nothing to correct", "corrections"))
        else:
            stored.append({"field": name, "value": value, "reason": reason.strip(),
                           "original": {"value": original.get("value"), "provenance": original.get("provenance")}})
        seen.add(name)
    return stored, errors
