"""Form drafts and staff actions for the form lifecycle tests (built the way the process engine builds them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from exchange.processes.engine import FormDraft
from exchange.state import StateStore
from exchange.state.form_history import read_history
from exchange.state.forms import get_form, store_evaluations
from exchange.state.lifecycle import Review, review_form
from exchange.state.tables import feedback_outbox

PROCESS = "elderly-allowance-review"
KEY = "530124194102030011"
MANUAL = [
    {"name": "living_arrangement", "label": {"zh": "居住情况", "en": "Living"}, "kind": "choice",
     "choices": ["独居", "与子女同住"], "required": True, "value": None},
    {"name": "verified_in_person", "label": {"zh": "已入户见到本人", "en": "Seen"}, "kind": "boolean",
     "choices": [], "required": True, "value": None},
    {"name": "income", "label": {"zh": "收入", "en": "Income"}, "kind": "number", "choices": [], "required": False,
     "value": None},
    {"name": "visited_on", "label": {"zh": "走访日期", "en": "Visited"}, "kind": "date", "choices": [],
     "required": False, "value": None},
    {"name": "phone", "label": {"zh": "联系电话", "en": "Phone"}, "kind": "text", "choices": [], "required": False,
     "value": None},
]
GOOD_MANUAL = {"living_arrangement": "独居", "verified_in_person": True}


def provenance(record_id: str = "row-1", department: str = "PUBLIC_SECURITY", record_type: str = "resident",
               event: str = "2026-03-01T08:00:00.000+00:00") -> dict[str, Any]:
    return {"department": department, "record_type": record_type, "source_record_id": record_id,
            "event_time": event, "received_time": event}


def draft(name: str = "张桂英", *, record_id: str = "row-1", event: str = "2026-03-01T08:00:00.000+00:00",
          as_of: str = "2026-06-15", grid: str = "53012410120101", address: str = "大营村下村组23号") -> FormDraft:
    source = provenance(record_id, event=event)
    fields = [
        {"name": "name", "label": {"zh": "姓名", "en": "Name"}, "value": name, "provenance": source},
        {"name": "registered_address", "label": {"zh": "户籍地址", "en": "Address"}, "value": address,
         "provenance": source},
        {"name": "age", "label": {"zh": "年龄", "en": "Age"}, "value": 85,
         "provenance": source | {"computed": "age", "as_of": as_of}},
        {"name": "current_programmes", "label": {"zh": "当前享受救助", "en": "Assistance"},
         "value": ["SUBSISTENCE_ALLOWANCE"],
         "provenance": [provenance("MZ1", "CIVIL_AFFAIRS", "assistance"), provenance("MZ2", "CIVIL_AFFAIRS",
                                                                                     "assistance")]},
        {"name": "phone_on_file", "label": {"zh": "登记电话", "en": "Phone on file"}, "value": None,
         "provenance": None},
    ]
    return FormDraft(PROCESS, "高龄津贴资格审核", "resident", KEY, grid, "530124101201", fields,
                     [dict(m) for m in MANUAL])


def store_draft(store: StateStore, new: FormDraft | None, now: int = 1_000) -> list[Any]:
    with store.transaction() as conn:
        return store_evaluations(conn, PROCESS, "resident", {KEY: new}, now)


def open_form(store: StateStore) -> dict[str, Any]:
    [change] = store_draft(store, draft())
    assert change.kind == "created"
    return form(store, change.form_id)


def form(store: StateStore, form_id: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        found = get_form(conn, form_id)
    assert found is not None
    return found


def history(store: StateStore, form_id: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return read_history(conn, form_id)


def review(store: StateStore, form_id: str, action: str, revision: int, now: int = 2_000, **kw: Any) -> Any:
    with store.transaction() as conn:
        return review_form(conn, form_id, Review(action, revision, kw.pop("actor", "grid-worker-7"), **kw), now)  # type: ignore[arg-type]


def outbox(store: StateStore) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(feedback_outbox).order_by(feedback_outbox.c.id)))
