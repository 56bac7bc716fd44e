"""The form actions over real HTTP: `exchange serve` on a demo township, staff correct and confirm forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import served_demo

from adapters.feedback import read_feedback
from connectors.embedded import EmbeddedTransport
from exchange.bus import Bus
from exchange.push.keys import create_key
from exchange.state import StateStore

PROCESS = "elderly-allowance-review"
MANUAL = {"living_arrangement": "与子女同住", "verified_in_person": True, "phone": "13800000000",
          "bank_account": "6217000000000000000"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A demo township's state served by `exchange serve` (its base URL, and the data folder)."""
    with served_demo(tmp_path_factory.mktemp("forms-api"), 2000, 11) as served_town:
        yield served_town


def pending(base: str, count: int) -> list[dict[str, Any]]:
    listing = httpx.get(f"{base}/api/forms", params={"process": PROCESS, "status": "pending_review",
                                                     "limit": count}).json()
    assert len(listing["items"]) == count
    return [httpx.get(f"{base}/api/forms/{item['id']}").json() for item in listing["items"]]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    return body


def metric(base: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


@pytest.mark.slow
def test_staff_correct_a_field_and_the_department_reads_the_feedback(served: tuple[str, Path]) -> None:
    """List, open, correct an address with a reason and fill the manual fields: the form is corrected, its
    history has both entries, and public security reads the correction from its feedback topic."""
    base, town = served
    [form] = pending(base, 1)
    address = next(f for f in form["fields"] if f["name"] == "registered_address")
    assert form["links"]["history"] == f"/api/forms/{form['id']}/history"

    body = {"revision": form["revision"], "actor": "grid-worker-7", "manual": MANUAL,
            "corrections": [{"field": "registered_address", "value": "富民县永定街道大营村上村组5号",
                             "reason": "入户核实：已搬到上村组，户籍地址未更新"}]}
    response = httpx.post(f"{base}/api/forms/{form['id']}/correct", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    corrected = result["form"]
    assert (corrected["status"], corrected["revision"]) == ("corrected", form["revision"] + 1)
    assert corrected["reviewed_by"] == "grid-worker-7"
    assert corrected["corrections"][0]["original"] == {"value": address["value"], "provenance": address["provenance"]}
    assert {m["name"]: m["value"] for m in corrected["manual_fields"]} == MANUAL
    [sent] = result["feedback"]
    assert sent["sent"] is True
    assert httpx.get(f"{base}/api/forms/{form['id']}").json()["status"] == "corrected"

    history = httpx.get(f"{base}{form['links']['history']}").json()
    assert [(e["action"], e["actor"]) for e in history["items"]] == [("created", "mediator"),
                                                                     ("corrected", "grid-worker-7")]
    assert history["items"][-1]["changes"]["feedback"] == [sent["id"]]

    with Bus(EmbeddedTransport(town / "bus.db")) as bus:
        [item] = list(read_feedback(bus, "PUBLIC_SECURITY", group="ps-registry-test", timeout=0.5))
    assert item.feedback_id == sent["id"]
    assert (item.form_id, item.field, item.source_record_id) == (form["id"], "registered_address",
                                                                 address["provenance"]["source_record_id"])
    assert item.value_at_source == address["value"]
    assert item.corrected_value == "富民县永定街道大营村上村组5号"
    assert item.reason == "入户核实：已搬到上村组，户籍地址未更新"
    assert (item.answer_due - item.corrected_at.date()).days in (14, 15)  # 14 days in China time

    assert metric(base, "exchange_feedback_sent_total", department="PUBLIC_SECURITY") == 1
    assert metric(base, "exchange_forms", process=form["process"], status="corrected") == 1

    again = httpx.post(f"{base}/api/forms/{form['id']}/confirm",
                       json={"revision": corrected["revision"], "actor": "grid-worker-7", "manual": MANUAL})
    assert problem(again, 409)["form_status"] == "corrected"


@pytest.mark.slow
def test_confirm_and_reject_over_http(served: tuple[str, Path]) -> None:
    """A plain confirmation and a rejection with its reason; both appear in the metrics."""
    base, _ = served
    first, second = pending(base, 2)
    confirmed = httpx.post(f"{base}/api/forms/{first['id']}/confirm",
                           json={"revision": first["revision"], "actor": "grid-worker-7", "manual": MANUAL})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"form": confirmed.json()["form"], "feedback": []}
    assert confirmed.json()["form"]["status"] == "confirmed"
    rejected = httpx.post(f"{base}/api/forms/{second['id']}/reject",
                          json={"revision": second["revision"], "actor": "village-reviewer-2", "reason": "已迁出本村"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["form"]["status"], rejected.json()["form"]["status_reason"]) == ("rejected", "已迁出本村")
    for status in ("confirmed", "rejected"):
        assert metric(base, "exchange_forms", process=first["process"], status=status) == 1
    assert metric(base, "exchange_forms_reviewed_total", process=first["process"], outcome="rejected") == 1


@pytest.mark.slow
def test_bad_input_gets_problem_details_naming_the_fields(served: tuple[str, Path]) -> None:
    """A bad manual value and a missing required one are 422s naming each field; a stale revision is a 409;
    an unknown form a 404; a body missing its reason a 422 naming it; nothing changes the form."""
    base, _ = served
    [form] = pending(base, 1)
    url = f"{base}/api/forms/{form['id']}"
    bad = httpx.post(f"{url}/confirm", json={
        "revision": form["revision"], "actor": "grid-worker-7",
        "manual": MANUAL | {"living_arrangement": "住在月球", "verified_in_person": "是", "phone": None}})
    body = problem(bad, 422)
    assert body["type"] == "urn:exchange:problem:invalid-form-input"
    assert {e["field"]: e["in"] for e in body["errors"]} == {
        "living_arrangement": "manual", "verified_in_person": "manual", "phone": "manual"}
    assert "住在月球" in body["detail"]

    stale = httpx.post(f"{url}/confirm", json={"revision": form["revision"] + 1, "actor": "grid-worker-7",
                                               "manual": MANUAL})
    body = problem(stale, 409)
    assert body["type"] == "urn:exchange:problem:stale-revision"
    assert (body["revision"], body["form_status"]) == (form["revision"], "pending_review")

    no_reason = httpx.post(f"{url}/reject", json={"revision": form["revision"], "actor": "grid-worker-7"})
    assert [e["field"] for e in problem(no_reason, 422)["errors"]] == ["reason"]
    no_correction = httpx.post(f"{url}/correct", json={"revision": form["revision"], "actor": "a", "manual": MANUAL,
                                                       "corrections": []})
    assert [e["field"] for e in problem(no_correction, 422)["errors"]] == ["corrections"]

    problem(httpx.post(f"{base}/api/forms/no-such-form/confirm",
                       json={"revision": 1, "actor": "a", "manual": MANUAL}), 404)
    problem(httpx.get(f"{base}/api/forms/no-such-form/history"), 404)
    assert httpx.get(url).json() == form


@pytest.mark.slow
def test_a_department_cannot_push_feedback(served: tuple[str, Path]) -> None:
    """Feedback comes from staff corrections only: pushing onto a feedback topic is not found."""
    base, town = served
    store = StateStore(f"sqlite:///{town / 'state.db'}")
    try:
        _, secret = create_key(store, "public-security")
    finally:
        store.close()
    response = httpx.post(f"{base}/api/push/public-security/feedback", json=[],
                          headers={"Authorization": f"Bearer {secret}"})
    assert "feedback" in problem(response, 404)["detail"]
