"""End to end: `exchange demo` on the embedded default, as a user runs it, checked against the township."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import EXCHANGE, clean_env, free_port, running


def exchange(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXCHANGE, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=300, check=False)


def demo_json(tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = exchange("demo", "--residents", "600", "--seed", "11", "--data-dir", str(tmp_path / "town"),
                      "--no-serve", "--json", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("demo")
    first = demo_json(tmp_path)
    second = demo_json(tmp_path)
    return tmp_path, first, second


@pytest.mark.slow
def test_demo_publishes_everything_and_opens_the_expected_forms(demo_runs: Any) -> None:
    """Every clean row is published, every dirty one is a dead letter, and the forms match the township."""
    tmp_path, first, _ = demo_runs
    manifest = json.loads((tmp_path / "town" / "township.json").read_text(encoding="utf-8"))
    run = first["this_run"]
    assert set(run["published"]) == set(manifest["files"])  # every department's source was read
    for source in manifest["files"]:
        assert run["published"][source] + run["rejected"][source] == manifest["counts"][source], source
        assert run["reject_reasons"][source] == {
            reason: n for reason, n in manifest["expected_reasons"][source].items() if n}, source
    assert first["total"]["dead_letters"] == sum(manifest["expected_rejects"].values())
    forms = first["total"]["forms"]
    assert run["forms"]["created"] == sum(forms.values())
    assert forms["elderly-allowance-review/pending_review"] == manifest["expected_elderly_review"] > 0
    assert forms["subsistence-allowance-review/pending_review"] > 0  # households with 低保 get their review
    assert set(forms) <= {f"{process}/pending_review" for process in (
        "elderly-allowance-review", "subsistence-allowance-review", "poverty-return-visit", "death-notice")}
    assert first["total"]["fields_prefilled"] > first["total"]["fields_left_to_staff"] > 0
    # Each death tells civil affairs and human resources once, without a report from the village.
    deaths = forms.get("death-notice/pending_review", 0)
    assert first["this_run"]["notices_sent"] == first["total"]["notices_sent"] == 2 * deaths


@pytest.mark.slow
def test_second_demo_run_on_the_same_folder_duplicates_nothing(demo_runs: Any) -> None:
    """Running the demo again publishes nothing, creates no form, and the totals stay the same."""
    _, first, second = demo_runs
    assert sum(second["this_run"]["published"].values()) == 0
    assert sum(second["this_run"]["rejected"].values()) == 0
    assert second["this_run"]["forms"].get("created", 0) == 0
    assert second["this_run"]["notices_sent"] == 0
    assert second["total"] == first["total"]


@pytest.mark.slow
def test_demo_without_json_prints_the_summary_line(tmp_path: Path) -> None:
    """The human summary names what was published, rejected and pre-filled."""
    result = exchange("demo", "--residents", "60", "--data-dir", str(tmp_path / "t"), "--no-serve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "published" in result.stdout
    assert "fields pre-filled vs" in result.stdout


@pytest.mark.slow
def test_demo_serves_forms_metrics_and_health_over_http(demo_runs: Any) -> None:
    """After the summary the demo serves the forms with provenance, Prometheus metrics and health."""
    tmp_path, first, _ = demo_runs
    port = free_port()
    args = ["demo", "--residents", "600", "--seed", "11", "--data-dir", str(tmp_path / "town"), "--port", str(port)]
    with running(args, tmp_path, port) as base:
        listing = httpx.get(f"{base}/api/forms", params={"limit": 5}).json()
        assert listing["total"] == sum(first["total"]["forms"].values())
        form = httpx.get(f"{base}/api/forms/{listing['items'][0]['id']}").json()
        name = next(f for f in form["fields"] if f["name"] == "name")
        assert name["provenance"]["department"] == "PUBLIC_SECURITY"
        assert form["manual_fields"]
        missing = httpx.get(f"{base}/api/forms/does-not-exist")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"

        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        assert "待核对表单" in page.text

        families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{base}/metrics").text)}
        pending = sum(s.value for s in families["exchange_forms"].samples if s.labels["status"] == "pending_review")
        assert pending == listing["total"]
        assert "exchange_records_produced" in families
        assert "exchange_records_consumed" in families
        assert "exchange_records_rejected" in families
        assert "exchange_forms_created" in families
        lag = [s.value for s in families["exchange_consumer_lag_messages"].samples]
        assert lag
        assert set(lag) == {0}
        topics = {s.labels["topic"]: s.value for s in families["exchange_topic_messages"].samples}
        assert topics["exchange.dead-letters"] == first["total"]["dead_letters"]
