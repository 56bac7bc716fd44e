"""The operator API over real HTTP: `exchange serve` on a demo township answers processes, dead letters and
the burden removed, agreeing with the CLI and the forms API."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import EXCHANGE, clean_env, served_demo

from exchange.state.forms import STATUSES

pytestmark = pytest.mark.slow

PROCESS = "elderly-allowance-review"
MANUAL = {"living_arrangement": "与子女同住", "verified_in_person": True, "phone": "13800000000",
          "bank_account": "6217000000000000000"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A demo township's state served by `exchange serve` (its base URL, and the data folder)."""
    with served_demo(tmp_path_factory.mktemp("operator-api"), 1500, 5) as served_town:
        yield served_town


def cli_json(*args: str) -> Any:
    done = subprocess.run([*EXCHANGE, *args, "--json"], env=clean_env(), capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    return body


def all_forms(base: str, **params: str) -> list[dict[str, Any]]:
    listing = ok(httpx.get(f"{base}/api/forms", params={"limit": 1000, **params}))
    assert listing["total"] <= 1000
    return listing["items"]


def test_processes_are_the_enabled_definitions_with_their_forms(served: tuple[str, Path]) -> None:
    """Every enabled process is listed with titles, counts and notices; its forms by status match the forms API."""
    base, _town = served
    listing = ok(httpx.get(f"{base}/api/processes"))
    expected = {p["id"]: p for p in cli_json("processes", "list")}
    assert [p["id"] for p in listing["items"]] == sorted(expected)
    assert listing["total"] == len(expected)
    forms = all_forms(base)
    for process in listing["items"]:
        cli = expected[process["id"]]
        assert (process["version"], process["title"]["zh"], process["entity"], process["cycle"]) == (
            cli["version"], cli["title"], cli["entity"], cli["cycle"])
        assert process["title"]["en"]
        assert (process["field_count"], process["manual_field_count"]) == (cli["fields"], cli["manual_fields"])
        assert [n["department"] for n in process["notices"]] == cli["notices"]
        assert [s["status"] for s in process["forms_by_status"]] == list(STATUSES)
        mine = [f for f in forms if f["process"] == process["id"]]
        by_status = Counter(f["status"] for f in mine)
        assert {s["status"]: s["forms"] for s in process["forms_by_status"]} == {s: by_status[s] for s in STATUSES}
        burden = process["burden"]
        assert burden["forms"] == len(mine)
        assert burden["fields_prefilled"] == sum(f["prefilled_count"] for f in mine)
        assert burden["fields_left_to_staff"] == sum(f["manual_count"] for f in mine)
        assert process["links"]["self"] == f"/api/processes/{process['id']}"
    death = next(p for p in listing["items"] if p["id"] == "death-notice")
    assert death["burden"]["forms"] > 0
    assert all(n["notices"] == n["sent"] == death["burden"]["forms"] for n in death["notices"])


def test_a_process_lists_its_fields_and_an_unknown_one_is_a_problem(served: tuple[str, Path]) -> None:
    """One process carries its pre-filled and manual fields; an unknown id answers a 404 problem."""
    base, _town = served
    process = ok(httpx.get(f"{base}/api/processes/{PROCESS}"))
    by_whom = Counter(f["filled_by"] for f in process["fields"])
    assert by_whom == {"department": process["field_count"], "staff": process["manual_field_count"]}
    name = next(f for f in process["fields"] if f["name"] == "name")
    assert name["sources"]
    assert name["label"]["zh"] == "姓名"
    assert set(MANUAL) <= {f["name"] for f in process["fields"] if f["filled_by"] == "staff"}
    body = problem(httpx.get(f"{base}/api/processes/no-such-process"), 404)
    assert body["instance"] == "/api/processes/no-such-process"
    assert "no-such-process" in body["detail"]


def test_a_confirmed_form_moves_between_status_counts(served: tuple[str, Path]) -> None:
    """Confirming a form moves it from pending to confirmed in the process's counts; the burden total stays."""
    base, _town = served
    before = ok(httpx.get(f"{base}/api/processes/{PROCESS}"))
    [form] = all_forms(base, process=PROCESS, status="pending_review")[:1]
    confirmed = httpx.post(f"{base}/api/forms/{form['id']}/confirm",
                           json={"revision": form["revision"], "actor": "grid-worker-1", "manual": MANUAL})
    assert confirmed.status_code == 200, confirmed.text
    after = ok(httpx.get(f"{base}/api/processes/{PROCESS}"))
    count = {s["status"]: s["forms"] for s in before["forms_by_status"]}
    count["pending_review"] -= 1
    count["confirmed"] += 1
    assert {s["status"]: s["forms"] for s in after["forms_by_status"]} == count
    assert after["burden"] == before["burden"]


def test_dead_letters_are_those_the_cli_lists(served: tuple[str, Path]) -> None:
    """The API lists the dead letters `exchange dlq list` does, with reason, origin, department and target topic."""
    base, town = served
    expected = cli_json("dlq", "list", "--data-dir", str(town))
    page = ok(httpx.get(f"{base}/api/dead-letters", params={"limit": 1000}))
    assert page["total"] == len(expected) > 0
    keys = ("id", "department", "reason", "detail", "origin", "partition", "offset")
    assert [{k: d[k] for k in keys} for d in page["items"]] == [{k: d[k] for k in keys} for d in expected]
    assert all(d["origin"] and d["stage"] and d["failed_at"] for d in page["items"])
    assert any(d["target_topic"] and d["record_type"] for d in page["items"])


def test_dead_letters_filter_and_page(served: tuple[str, Path]) -> None:
    """Department and reason filter the list as the CLI's options do; limit and offset page it."""
    base, town = served
    every = ok(httpx.get(f"{base}/api/dead-letters", params={"limit": 1000}))["items"]
    department = Counter(d["department"] for d in every).most_common(1)[0][0]
    some = ok(httpx.get(f"{base}/api/dead-letters", params={"department": department, "limit": 1000}))
    assert some["total"] == sum(d["department"] == department for d in every) < len(every)
    reason = every[0]["reason"]
    by_reason = ok(httpx.get(f"{base}/api/dead-letters", params={"reason": reason, "limit": 1000}))
    cli = cli_json("dlq", "list", "--data-dir", str(town), "--reason", reason)
    assert [d["id"] for d in by_reason["items"]] == [d["id"] for d in cli]
    second = ok(httpx.get(f"{base}/api/dead-letters", params={"limit": 2, "offset": 2}))
    assert (second["total"], second["limit"], second["offset"]) == (len(every), 2, 2)
    assert [d["id"] for d in second["items"]] == [d["id"] for d in every[2:4]]
    problem(httpx.get(f"{base}/api/dead-letters", params={"limit": 0}), 422)


def test_dead_letter_summary_counts_by_department_and_reason(served: tuple[str, Path]) -> None:
    """The summary's counts are those of the list, by department, by reason and by both."""
    base, _town = served
    every = ok(httpx.get(f"{base}/api/dead-letters", params={"limit": 1000}))["items"]
    summary = ok(httpx.get(f"{base}/api/dead-letters/summary"))
    assert summary["total"] == len(every)
    assert {c["department"]: c["count"] for c in summary["by_department"]} == Counter(d["department"] for d in every)
    assert {c["reason"]: c["count"] for c in summary["by_reason"]} == Counter(d["reason"] for d in every)
    assert {(c["department"], c["reason"]): c["count"] for c in summary["by_department_and_reason"]} == Counter(
        (d["department"], d["reason"]) for d in every)
    counts = [c["count"] for c in summary["by_reason"]]
    assert counts == sorted(counts, reverse=True)


def test_burden_per_process_and_per_village(served: tuple[str, Path]) -> None:
    """Fields pre-filled vs left to staff add up per process and per 12-digit village code, as the forms say."""
    base, _town = served
    forms = all_forms(base)
    by_process = ok(httpx.get(f"{base}/api/burden", params={"by": "process"}))
    assert ok(httpx.get(f"{base}/api/burden")) == by_process
    expected: dict[str, list[int]] = {}
    villages: dict[str, list[int]] = {}
    for f in forms:
        for table, key in ((expected, f["process"]), (villages, (f["division_code"] or f["grid_code"])[:12])):
            row = table.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += f["prefilled_count"]
            row[2] += f["manual_count"]
    rows = {r["key"]: [r["forms"], r["fields_prefilled"], r["fields_left_to_staff"]] for r in by_process["items"]}
    assert rows == expected
    total = by_process["total"]
    assert (total["forms"], total["fields_prefilled"], total["fields_left_to_staff"]) == tuple(
        sum(v[i] for v in expected.values()) for i in range(3))
    assert total["share_prefilled"] == round(total["fields_prefilled"] / (total["fields_prefilled"]
                                                                         + total["fields_left_to_staff"]), 4)
    by_village = ok(httpx.get(f"{base}/api/burden", params={"by": "village"}))
    assert by_village["by"] == "village"
    assert {r["key"]: [r["forms"], r["fields_prefilled"], r["fields_left_to_staff"]]
            for r in by_village["items"]} == villages
    assert all(len(key) == 12 and key.isdigit() for key in villages)
    assert by_village["total"] == total
    body = problem(httpx.get(f"{base}/api/burden", params={"by": "grid"}), 422)
    assert body["errors"][0]["field"] == "by"


def test_openapi_describes_the_operator_api(served: tuple[str, Path]) -> None:
    """/openapi.json describes each new path with a typed response and its problem responses."""
    base, _town = served
    document = ok(httpx.get(f"{base}/openapi.json"))
    paths, schemas = document["paths"], document["components"]["schemas"]
    typed = {"/api/processes": "ProcessList", "/api/processes/{process_id}": "ProcessDetail",
             "/api/dead-letters": "DeadLetterPage", "/api/dead-letters/summary": "DeadLetterSummary",
             "/api/burden": "BurdenReport"}
    for path, model in typed.items():
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert model in schemas
    missing = paths["/api/processes/{process_id}"]["get"]["responses"]["404"]["content"]
    assert missing["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {p["name"] for p in paths["/api/dead-letters"]["get"]["parameters"]} == {"department", "reason", "limit",
                                                                                     "offset"}
    assert set(schemas["DeadLetterItem"]["properties"]) >= {"reason", "detail", "department", "record_type", "origin",
                                                             "target_topic", "failed_at"}
    assert set(schemas["ProcessSummary"]["properties"]) >= {"title", "notices", "forms_by_status", "burden"}
