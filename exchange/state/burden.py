"""The burden removed: fields departments pre-filled versus fields left to staff, per process or per village."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from exchange.state.tables import forms

VILLAGE_DIGITS = 12  # an administrative-division code to the village (居委会/村委会) level


def burden_by_process(conn: Connection) -> list[tuple[str, int, int, int]]:
    """Per process: forms, fields pre-filled, fields left to staff (every status, as ``/metrics`` counts)."""
    rows = conn.execute(
        select(forms.c.process_id, func.count(), func.coalesce(func.sum(forms.c.prefilled_count), 0),
               func.coalesce(func.sum(forms.c.manual_count), 0))
        .group_by(forms.c.process_id).order_by(forms.c.process_id))
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


def burden_by_village(conn: Connection) -> list[tuple[str | None, int, int, int]]:
    """Per village (the first 12 digits of the form's division code, else of its grid code; None when the
    form was routed to neither): forms, fields pre-filled, fields left to staff."""
    village = func.substr(func.coalesce(forms.c.division_code, forms.c.grid_code), 1, VILLAGE_DIGITS).label("village")
    rows = conn.execute(
        select(village, func.count(), func.coalesce(func.sum(forms.c.prefilled_count), 0),
               func.coalesce(func.sum(forms.c.manual_count), 0))
        .group_by(village).order_by(village))
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


__all__ = ["VILLAGE_DIGITS", "burden_by_process", "burden_by_village"]
