"""Canonical records for tests, built the way adapters build them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from exchange.identity import make_resident_id

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def resident_id(birth: date, sequence: int = 11) -> str:
    return make_resident_id("530124", birth, sequence)


def meta(department: str, record_id: str, event_minutes: int = 0, ingest_minutes: int | None = None,
         operation: str = "UPSERT") -> dict[str, Any]:
    event = BASE_TIME + timedelta(minutes=event_minutes)
    ingest = BASE_TIME + timedelta(minutes=event_minutes if ingest_minutes is None else ingest_minutes)
    return {"source_department": department, "source_record_id": record_id, "event_time": event,
            "ingest_time": ingest, "operation": operation}


def resident(birth: date, *, sequence: int = 11, event_minutes: int = 0, ingest_minutes: int | None = None,
             **changes: Any) -> dict[str, Any]:
    number = resident_id(birth, sequence)
    record: dict[str, Any] = {
        "meta": meta("PUBLIC_SECURITY", f"row-{number}", event_minutes, ingest_minutes),
        "resident_id": number,
        "name": "张桂英",
        "sex": "FEMALE" if sequence % 2 == 0 else "MALE",
        "ethnicity": "01",
        "birth_date": birth,
        "household_id": "5301241012010001",
        "relationship_to_head": "HEAD",
        "registered_address": "云南省昆明市富民县永定街道大营村委会下村组23号",
        "division_code": "530124101201",
        "grid_code": "53012410120101",
        "status": "ACTIVE",
    }
    record.update(changes)
    return record


def assistance(number: str, programme: str = "ELDERLY_ALLOWANCE", status: str = "ACTIVE", *,
               record_id: str = "MZ2026000001", event_minutes: int = 0, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "meta": meta("CIVIL_AFFAIRS", record_id, event_minutes),
        "resident_id": number,
        "programme": programme,
        "status": status,
        "start_date": date(2024, 1, 1),
        "end_date": None,
        "monthly_amount": Decimal("50.00"),
    }
    record.update(changes)
    return record


def read_topic(bus: Any, topic: str) -> list[dict[str, Any]]:
    """Every record on ``topic``, decoded, read by a fresh consumer group."""
    out = []
    with bus.consumer(f"reader-{topic}", [topic]) as consumer:
        while batch := consumer.poll(timeout=0.2):
            out.extend(bus.decode(m).value for m in batch)
    return out
