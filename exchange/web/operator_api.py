"""What county operators and other systems watch: ``/api/processes``, ``/api/dead-letters``, ``/api/burden``.

Processes are the enabled definitions with their forms counted from the state store; dead letters are read
back from the dead-letter topic (as ``exchange dlq list`` reads them); the burden removed is fields
pre-filled by departments versus fields left to staff. Every form counts, whatever its status, as
``/metrics`` and ``exchange demo`` count them. Errors are RFC 9457 problem details.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from exchange.dead_letter_reader import DeadLetterReader, StoredDeadLetter, matching
from exchange.errors import ExchangeError
from exchange.processes.definition import ProcessDefinition, configured_processes
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.state.burden import burden_by_process, burden_by_village
from exchange.state.forms import STATUSES, form_counts
from exchange.state.notices import notice_counts
from exchange.web.push_api import problem

PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # FastAPI files a response model under application/json; the body is sent as problem+json, so name it too.
    described = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {s: {"model": Problem, "content": {PROBLEM: described}} for s in statuses}


class Label(BaseModel):
    zh: str
    en: str


class Burden(BaseModel):
    """Fields departments pre-filled versus fields left to staff, over a set of forms."""

    forms: int
    fields_prefilled: int
    fields_left_to_staff: int
    share_prefilled: float | None = Field(description="Pre-filled / all fields; null without forms.")

    @classmethod
    def of(cls, forms: int, prefilled: int, manual: int) -> Burden:
        total = prefilled + manual
        return cls(forms=forms, fields_prefilled=prefilled, fields_left_to_staff=manual,
                   share_prefilled=round(prefilled / total, 4) if total else None)


class StatusCount(Burden):
    status: str


class NoticeCount(BaseModel):
    """A department the process notifies, and how many notices it was sent."""

    department: str
    kind: str
    notices: int
    sent: int


class ProcessSummary(BaseModel):
    id: str
    version: int
    title: Label
    entity: str
    cycle: str
    field_count: int = Field(description="Fields pre-filled from department records.")
    manual_field_count: int = Field(description="Fields only staff can fill.")
    notices: list[NoticeCount]
    forms_by_status: list[StatusCount] = Field(description="Every status, zero included.")
    burden: Burden
    links: dict[str, str]


class ProcessField(BaseModel):
    name: str
    label: Label
    filled_by: Literal["department", "staff"]
    sources: list[str] = Field(default_factory=list, description="record_type.field, in precedence order.")
    computed: str | None = None
    kind: str | None = Field(None, description="Manual fields: text, boolean, choice, number, date, table.")
    required: bool | None = None


class ProcessDetail(ProcessSummary):
    fields: list[ProcessField]


class ProcessList(BaseModel):
    total: int
    items: list[ProcessSummary]


class DeadLetterItem(BaseModel):
    id: str
    reason: str
    detail: str
    stage: str
    department: str | None
    record_type: str | None
    origin: str = Field(description="Where the record came from: a source row or a topic/partition@offset.")
    target_topic: str | None
    failed_at: datetime
    partition: int = Field(description="Where the dead letter sits on the dead-letter topic.")
    offset: int


class DeadLetterPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DeadLetterItem]


class DepartmentCount(BaseModel):
    department: str | None
    count: int


class ReasonCount(BaseModel):
    reason: str
    count: int


class DepartmentReasonCount(BaseModel):
    department: str | None
    reason: str
    count: int


class DeadLetterSummary(BaseModel):
    total: int
    by_department: list[DepartmentCount]
    by_reason: list[ReasonCount]
    by_department_and_reason: list[DepartmentReasonCount]


class BurdenRow(Burden):
    key: str | None = Field(description="The process id, or the 12-digit village code (null: not routed).")


class BurdenReport(BaseModel):
    by: Literal["process", "village"]
    total: Burden
    items: list[BurdenRow]


def _fields(process: ProcessDefinition) -> list[ProcessField]:
    prefilled = [ProcessField(name=f.name, label=Label(zh=f.label.zh, en=f.label.en), filled_by="department",
                              sources=list(f.sources), computed=f.computed) for f in process.fields]
    manual = [ProcessField(name=f.name, label=Label(zh=f.label.zh, en=f.label.en), filled_by="staff", kind=f.kind,
                           required=f.required) for f in process.manual_fields]
    return prefilled + manual


def _summary(process: ProcessDefinition, counts: list[tuple[str, str, int, int, int]],
             notices: dict[tuple[str, str], tuple[int, int]]) -> dict[str, Any]:
    mine = {status: (n, pre, man) for pid, status, n, pre, man in counts if pid == process.id}
    by_status = [StatusCount(status=s, **Burden.of(*mine.get(s, (0, 0, 0))).model_dump()) for s in STATUSES]
    total = [sum(v[i] for v in mine.values()) for i in range(3)]
    return {
        "id": process.id, "version": process.version, "title": Label(zh=process.title.zh, en=process.title.en),
        "entity": process.entity, "cycle": process.cycle, "field_count": len(process.fields),
        "manual_field_count": len(process.manual_fields),
        "notices": [NoticeCount(department=n.department, kind=n.kind,
                                notices=notices.get((process.id, n.department), (0, 0))[0],
                                sent=notices.get((process.id, n.department), (0, 0))[1]) for n in process.notices],
        "forms_by_status": by_status,
        "burden": Burden.of(*total),
        "links": {"self": f"/api/processes/{process.id}", "forms": f"/api/forms?process={process.id}"},
    }


def _dead_letter(stored: StoredDeadLetter) -> DeadLetterItem:
    d = stored.letter
    return DeadLetterItem(id=d.id, reason=d.reason, detail=d.detail, stage=d.stage, department=d.department,
                          record_type=d.record_type, origin=d.origin, target_topic=d.target_topic,
                          failed_at=d.failed_at, partition=stored.partition, offset=stored.offset)


def operator_router(store: StateStore, settings: Settings, reader: DeadLetterReader | None = None) -> APIRouter:
    """The operator routes over ``store``, the processes ``settings`` enable and the dead letters ``reader`` reads."""
    router = APIRouter(tags=["operations"])
    reader = reader or DeadLetterReader(settings)

    def enabled() -> list[ProcessDefinition]:
        return configured_processes(settings)  # read per request: what `exchange processes list` shows now

    def counted() -> tuple[list[tuple[str, str, int, int, int]], dict[tuple[str, str], tuple[int, int]]]:
        with store.engine.connect() as conn:
            return form_counts(conn), notice_counts(conn)

    @router.get("/processes", response_model=ProcessList, responses=_problems(503))
    def processes(request: Request) -> Any:
        """Every enabled process with its forms by status and the burden it removed."""
        try:
            found = enabled()
        except ExchangeError as exc:
            return problem(request, 503, f"process definitions do not load: {exc}")
        counts, notices = counted()
        return ProcessList(total=len(found), items=[ProcessSummary(**_summary(p, counts, notices)) for p in found])

    @router.get("/processes/{process_id}", response_model=ProcessDetail, responses=_problems(404, 503))
    def process(process_id: str, request: Request) -> Any:
        """One enabled process, with its fields: those departments pre-fill and those left to staff."""
        try:
            found = next((p for p in enabled() if p.id == process_id), None)
        except ExchangeError as exc:
            return problem(request, 503, f"process definitions do not load: {exc}")
        if found is None:
            return problem(request, 404, f"no enabled process {process_id}")
        counts, notices = counted()
        return ProcessDetail(**_summary(found, counts, notices), fields=_fields(found))

    def letters(request: Request) -> list[StoredDeadLetter] | JSONResponse:
        try:
            return reader.read()
        except ExchangeError as exc:  # transport and codec errors: the bus is not readable now
            return problem(request, 503, f"the dead-letter topic cannot be read: {exc}", {"Retry-After": "5"})

    @router.get("/dead-letters", response_model=DeadLetterPage, responses=_problems(503))
    def dead_letters(
        request: Request,
        department: Annotated[str | None, Query(description="e.g. PUBLIC_SECURITY")] = None,
        reason: Annotated[str | None, Query(description="e.g. invalid_resident_id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        """Dead letters in the order of the dead-letter topic, with reason, origin and where they were going."""
        found = letters(request)
        if isinstance(found, JSONResponse):
            return found
        chosen = matching(found, department, reason)
        return DeadLetterPage(total=len(chosen), limit=limit, offset=offset,
                              items=[_dead_letter(s) for s in chosen[offset:offset + limit]])

    @router.get("/dead-letters/summary", response_model=DeadLetterSummary, responses=_problems(503))
    def dead_letter_summary(request: Request) -> Any:
        """Dead letters counted by department, by reason, and by both."""
        found = letters(request)
        if isinstance(found, JSONResponse):
            return found
        pairs = Counter((s.letter.department, s.letter.reason) for s in found)
        departments: Counter[str | None] = Counter()
        reasons: Counter[str] = Counter()
        for (department, reason), n in pairs.items():
            departments[department] += n
            reasons[reason] += n
        return DeadLetterSummary(
            total=len(found),
            by_department=[DepartmentCount(department=d, count=n) for d, n in _ranked(departments)],
            by_reason=[ReasonCount(reason=r, count=n) for r, n in _ranked(reasons)],
            by_department_and_reason=[DepartmentReasonCount(department=d, reason=r, count=n)
                                      for (d, r), n in _ranked(pairs)])

    @router.get("/burden", response_model=BurdenReport)
    def burden(by: Annotated[Literal["process", "village"], Query(description="group by")] = "process") -> Any:
        """Fields pre-filled versus left to staff, per process or per village (12-digit division code)."""
        with store.engine.connect() as conn:
            rows = burden_by_process(conn) if by == "process" else burden_by_village(conn)
        items = [BurdenRow(key=key, **Burden.of(n, pre, man).model_dump()) for key, n, pre, man in rows]
        return BurdenReport(by=by, total=Burden.of(*(sum(r[i] for r in rows) for i in (1, 2, 3))), items=items)

    return router


def _ranked(counts: Counter[Any]) -> list[tuple[Any, int]]:
    """Largest count first, ties in a stable order (a department may be None)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))


__all__ = ["operator_router"]
