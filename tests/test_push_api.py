"""Acceptance: departments push JSON records to `exchange serve` and they land on the bus, all or nothing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import read_topic
from servers import EXCHANGE, clean_env, free_port, running

from exchange.bus import Bus
from exchange.settings import load_settings

TOPIC = "civil-affairs.assistance"
PUSH = "/api/push/civil-affairs/assistance"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("push")
    port = free_port()
    with running(["serve", "--port", str(port)], data_dir, port, clean_env(EXCHANGE_DATA_DIR=str(data_dir))) as base:
        yield base, data_dir


def exchange(data_dir: Path, *args: str) -> str:
    """Run the ``exchange`` CLI against ``data_dir`` and return what it printed."""
    done = subprocess.run([*EXCHANGE, *args], cwd=data_dir, env=clean_env(EXCHANGE_DATA_DIR=str(data_dir)),
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def new_key(data_dir: Path, department: str = "civil-affairs") -> str:
    return exchange(data_dir, "keys", "create", department, "--label", "test").strip()


def published(data_dir: Path) -> list[dict[str, Any]]:
    with Bus.open(load_settings(data_dir=data_dir)) as bus:
        if TOPIC not in bus.transport.topics():
            return []
        return read_topic(bus, TOPIC)


def row(source_record_id: str, **changes: Any) -> dict[str, Any]:
    return {"source_record_id": source_record_id, "event_time": "2026-05-01T09:30:00Z",
            "resident_id": "11010519491231002X", "programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE",
            "start_date": "2025-01-01", "monthly_amount": "650.00"} | changes


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


def test_valid_rows_are_accepted_and_published(server: tuple[str, Path]) -> None:
    """202 with the count, and the records are on the topic with meta filled from the key."""
    base, data_dir = server
    key = new_key(data_dir)
    before = len(published(data_dir))
    # The second row: a number for the decimal, a lower-case x, a China-time event time, a delete.
    rows = [row("MZ1"), row("MZ2", programme="ELDERLY_ALLOWANCE", end_date="2025-12-31", monthly_amount=80,
                            resident_id="11010519491231002x", operation="DELETE",
                            event_time="2026-05-01T17:30:00+08:00")]
    started = datetime.now(UTC)
    response = httpx.post(f"{base}{PUSH}", json=rows, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 2, "topic": TOPIC}
    records = sorted(published(data_dir)[before:], key=lambda r: r["meta"]["source_record_id"])
    for record in records:  # ingest time is the server's now, in whole milliseconds
        assert started - timedelta(seconds=1) <= record["meta"].pop("ingest_time") <= datetime.now(UTC)
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert records == [
        {"meta": {"source_department": "CIVIL_AFFAIRS", "source_record_id": "MZ1", "event_time": moment,
                  "operation": "UPSERT"},
         "resident_id": "11010519491231002X", "programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE",
         "start_date": date(2025, 1, 1), "end_date": None, "monthly_amount": Decimal("650.00"),
         "residence_address": None},
        {"meta": {"source_department": "CIVIL_AFFAIRS", "source_record_id": "MZ2", "event_time": moment,
                  "operation": "DELETE"},
         "resident_id": "11010519491231002X", "programme": "ELDERLY_ALLOWANCE", "status": "ACTIVE",
         "start_date": date(2025, 1, 1), "end_date": date(2025, 12, 31), "monthly_amount": Decimal("80.00"),
         "residence_address": None},
    ]


def test_the_x_api_key_header_is_accepted(server: tuple[str, Path]) -> None:
    """A key in X-API-Key works like a bearer token."""
    base, data_dir = server
    response = httpx.post(f"{base}{PUSH}", json=[row("MZ3")], headers={"X-API-Key": new_key(data_dir)}, timeout=30)
    assert response.status_code == 202, response.text


def test_invalid_rows_are_all_reported_and_nothing_is_published(server: tuple[str, Path]) -> None:
    """422 lists every error of every row, and not even the valid rows reach the bus."""
    base, data_dir = server
    key = new_key(data_dir)
    before = len(published(data_dir))
    rows = [row("OK1"), row("BAD1", programme="HOUSING", start_date="2025-02-30"),
            row("BAD2", monthly_amount="1.234", colour="blue", resident_id="110105194912310021")]
    response = httpx.post(f"{base}{PUSH}", json=rows, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    body = assert_problem(response, 422)
    assert body["title"] == "rows failed validation"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (1, "programme"), (1, "start_date"), (2, "resident_id"), (2, "monthly_amount"), (2, "colour"),
    ]
    messages = {(e["row"], e["field"]): e["message"] for e in body["errors"]}
    assert messages[(1, "programme")].startswith("Input should be 'SUBSISTENCE_ALLOWANCE'")
    assert messages[(2, "colour")] == "Extra inputs are not permitted"
    assert "check digit" in messages[(2, "resident_id")]
    assert len(published(data_dir)) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}, {"X-API-Key": "not-a-key"}])
def test_a_missing_or_unknown_key_is_unauthorised(server: tuple[str, Path], headers: dict[str, str]) -> None:
    """No key, or a key nobody issued, gets 401 with a Bearer challenge."""
    response = httpx.post(f"{server[0]}{PUSH}", json=[row("MZ9")], headers=headers, timeout=30)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_key_is_unauthorised(server: tuple[str, Path]) -> None:
    """After `exchange keys revoke`, the key that worked gets 401."""
    base, data_dir = server
    key = new_key(data_dir)
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{base}{PUSH}", json=[row("MZ4")], headers=headers, timeout=30).status_code == 202
    listed = json.loads(exchange(data_dir, "keys", "list", "--json"))
    assert all("key" not in k and "key_hash" not in k for k in listed)
    exchange(data_dir, "keys", "revoke", str(listed[-1]["id"]))
    body = assert_problem(httpx.post(f"{base}{PUSH}", json=[row("MZ5")], headers=headers, timeout=30), 401)
    assert "revoked" in body["detail"]


def test_a_key_of_another_department_is_forbidden(server: tuple[str, Path]) -> None:
    """A civil-affairs key cannot push public-security residents."""
    base, data_dir = server
    response = httpx.post(f"{base}/api/push/public-security/resident", json=[],
                          headers={"Authorization": f"Bearer {new_key(data_dir)}"}, timeout=30)
    assert_problem(response, 403)


@pytest.mark.parametrize("path", ["/api/push/civil-affairs/resident", "/api/push/town-hall/assistance"])
def test_a_department_or_record_type_without_a_topic_is_not_found(server: tuple[str, Path], path: str) -> None:
    """An unknown department or record type gets 404."""
    base, data_dir = server
    response = httpx.post(f"{base}{path}", json=[], headers={"Authorization": f"Bearer {new_key(data_dir)}"},
                          timeout=30)
    assert_problem(response, 404)


def test_a_body_that_is_not_an_array_is_rejected(server: tuple[str, Path]) -> None:
    """A JSON object instead of an array of records gets 400."""
    base, data_dir = server
    response = httpx.post(f"{base}{PUSH}", json=row("MZ6"), headers={"X-API-Key": new_key(data_dir)}, timeout=30)
    assert_problem(response, 400)


def test_too_many_rows_are_refused(server: tuple[str, Path]) -> None:
    """More than 10,000 rows in one request gets 413."""
    base, data_dir = server
    response = httpx.post(f"{base}{PUSH}", json=[{}] * 10_001, headers={"X-API-Key": new_key(data_dir)}, timeout=30)
    assert_problem(response, 413)
