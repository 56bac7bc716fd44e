"""Pydantic models generated from the Avro data standards validate pushed rows field by field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from factories import read_topic
from pydantic import ValidationError

from adapters import get_adapter
from connectors.embedded import EmbeddedTransport
from exchange.bus import Bus
from exchange.cli.pipeline import Progress, run_adapters
from exchange.push.models import PushedRow, row_errors, row_model, to_record
from exchange.registry.standards import load_avro_file
from exchange.state import StateStore
from exchange.topics import load_topics, topic_for
from exchange.township import generate_township
from schemas import AVRO_DIR

MOMENT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def model(name: str) -> type[PushedRow]:
    return row_model(load_avro_file(AVRO_DIR / f"{name}.avsc"))


ASSISTANCE = "gov.exchange.civil_affairs.Assistance"
RESIDENT = "gov.exchange.public_security.Resident"


def assistance(**changes: Any) -> dict[str, Any]:
    row = {"source_record_id": "MZ7", "event_time": "2026-05-01T09:30:00Z", "resident_id": "11010519491231002X",
           "programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE", "start_date": "2025-01-01",
           "monthly_amount": "650.00"}
    return row | changes


def resident(**changes: Any) -> dict[str, Any]:
    row = {"source_record_id": "GA1", "event_time": "2026-05-01T17:30:00+08:00",
           "resident_id": "11010519491231002X", "name": "张秀英", "sex": "FEMALE", "ethnicity": "01",
           "birth_date": "1949-12-31", "household_id": "H0001", "relationship_to_head": "HEAD",
           "registered_address": "幸福村3组12号", "division_code": "530102001001", "grid_code": "G01",
           "status": "ACTIVE"}
    return row | changes


def field_errors(name: str, row: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model(name).model_validate(row)
    return {e["field"]: e["message"] for e in row_errors(0, caught.value)}


def test_a_valid_assistance_row_becomes_a_canonical_record() -> None:
    """A valid row parses to typed values and gains a server-filled meta."""
    row = model(ASSISTANCE).model_validate(assistance())
    record = to_record(row, "CIVIL_AFFAIRS", MOMENT)
    assert record == {
        "meta": {"source_department": "CIVIL_AFFAIRS", "source_record_id": "MZ7", "event_time": MOMENT,
                 "ingest_time": MOMENT, "operation": "UPSERT"},
        "resident_id": "11010519491231002X", "programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE",
        "start_date": date(2025, 1, 1), "end_date": None, "monthly_amount": Decimal("650.00"),
        "residence_address": None,
    }


def test_a_valid_resident_row_passes_with_defaults() -> None:
    """A Resident row without its nullable phone validates, the phone defaulting to None."""
    row = model(RESIDENT).model_validate(resident(operation="DELETE"))
    assert row.phone is None  # type: ignore[attr-defined]
    assert row.operation == "DELETE"  # type: ignore[attr-defined]
    assert row.birth_date == date(1949, 12, 31)  # type: ignore[attr-defined]


def test_one_model_per_schema_is_cached() -> None:
    """Generating the model twice for one schema gives the same class."""
    assert model(ASSISTANCE) is model(ASSISTANCE)


@pytest.mark.parametrize(("name", "row", "field", "message"), [
    (ASSISTANCE, assistance(programme="HOUSING"), "programme", "Input should be 'SUBSISTENCE_ALLOWANCE'"),
    (ASSISTANCE, assistance(start_date="2025-02-30"), "start_date", "Input should be a valid date"),
    (ASSISTANCE, assistance(monthly_amount="6.505"), "monthly_amount", "no more than 2 decimal places"),
    (ASSISTANCE, assistance(monthly_amount="lots"), "monthly_amount", "Input should be a valid decimal"),
    (ASSISTANCE, assistance(resident_id="110105194912310021"), "resident_id", "check digit"),
    (ASSISTANCE, assistance(colour="blue"), "colour", "Extra inputs are not permitted"),
    (ASSISTANCE, assistance(event_time="2026-05-01T09:30:00"), "event_time", "timezone"),
    (RESIDENT, resident(sex="M"), "sex", "Input should be 'MALE', 'FEMALE' or 'UNKNOWN'"),
    (RESIDENT, resident(birth_date="31/12/1949"), "birth_date", "Input should be a valid date"),
    (RESIDENT, resident(resident_id="1101051949"), "resident_id", "must be 18 characters"),
    (RESIDENT, resident(meta={}), "meta", "Extra inputs are not permitted"),
])
def test_a_bad_value_gives_an_error_on_its_field(name: str, row: dict[str, Any], field: str, message: str) -> None:
    """Each wrong value is reported on its own field, with pydantic's or the resident-ID check's reason."""
    errors = field_errors(name, row)
    assert list(errors) == [field]
    assert message in errors[field]


def test_every_error_of_a_row_is_listed() -> None:
    """A row with several problems lists all of them, including a missing required field."""
    row = assistance(status="PAUSED")
    del row["source_record_id"]
    assert set(field_errors(ASSISTANCE, row)) == {"status", "source_record_id"}


@pytest.fixture(scope="module")
def published_by_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """What every built-in adapter publishes from a small clean township, by topic."""
    out = tmp_path_factory.mktemp("push-township")
    generate_township(out / "town", 2000, seed=7, as_of=date(2026, 6, 1), dirty_rate=0.0)
    store = StateStore(f"sqlite:///{out / 'state.db'}")
    store.create_schema()
    bus = Bus(EmbeddedTransport(out / "bus.db"))
    bus.ensure_topics()
    try:
        runs = run_adapters(bus, store, out / "town", Progress())
        assert all(run.rejected == 0 for run in runs)
        topics = {topic_for(get_adapter(run.adapter).department, get_adapter(run.adapter).record_type).name
                  for run in runs}
        return {topic: read_topic(bus, topic) for topic in sorted(topics)}
    finally:
        bus.close()
        store.close()


def test_every_record_type_an_adapter_publishes_can_be_pushed_as_json(
    published_by_adapters: dict[str, list[dict[str, Any]]],
) -> None:
    """A department that pushes over HTTP instead of exporting gets the same records: each adapter's
    records, written as the JSON rows a pusher sends, validate and turn back into the same records."""
    assert len(published_by_adapters) == 12
    for topic, records in published_by_adapters.items():
        assert records, topic
        spec = load_topics()[topic]
        row_type = model(spec.schema_name)
        for record in records[:50]:
            meta = record["meta"]
            row = {k: v for k, v in record.items() if k != "meta"} | {
                "source_record_id": meta["source_record_id"], "event_time": meta["event_time"].isoformat(),
                "operation": meta["operation"]}
            pushed = row_type.model_validate_json(json.dumps(row, default=str))
            assert to_record(pushed, meta["source_department"], meta["ingest_time"]) == record, topic
