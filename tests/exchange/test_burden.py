"""The burden removed, counted in the state store (SQLite and PostgreSQL): per process and per village."""

from __future__ import annotations

from typing import Any

from exchange.state import StateStore
from exchange.state.burden import burden_by_process, burden_by_village
from exchange.state.tables import forms


def _form(n: int, process: str, grid: str | None, division: str | None, prefilled: int, manual: int,
          status: str = "pending_review") -> dict[str, Any]:
    return {"id": f"form-{n}", "process_id": process, "entity_type": "resident", "entity_key": f"key-{n}",
            "status": status, "grid_code": grid, "division_code": division, "fields": [], "manual_fields": [],
            "conflicts": [], "prefilled_count": prefilled, "manual_count": manual, "digest": "d", "revision": 1,
            "created_at": 0, "updated_at": 0}


def test_burden_groups_by_process_and_by_twelve_digit_village(store: StateStore) -> None:
    """Forms of every status count; the village is the division code's 12 digits, else the grid code's."""
    with store.transaction() as conn:
        conn.execute(forms.insert(), [
            _form(1, "death-notice", "53012410120101", "530124101201", 8, 4),
            _form(2, "elderly-allowance-review", "53012410120102", "530124101201", 10, 4, "confirmed"),
            _form(3, "elderly-allowance-review", "53012410120301", None, 9, 3, "superseded"),
            _form(4, "elderly-allowance-review", None, None, 7, 5),
        ])
    with store.engine.connect() as conn:
        assert burden_by_process(conn) == [("death-notice", 1, 8, 4), ("elderly-allowance-review", 3, 26, 12)]
        villages = {row[0]: row[1:] for row in burden_by_village(conn)}
    assert villages == {"530124101201": (2, 18, 8), "530124101203": (1, 9, 3), None: (1, 7, 5)}


def test_no_forms_no_burden(store: StateStore) -> None:
    """An empty state store answers empty lists, not a row of zeros."""
    with store.engine.connect() as conn:
        assert burden_by_process(conn) == []
        assert burden_by_village(conn) == []
