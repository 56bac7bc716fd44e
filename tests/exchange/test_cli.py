"""The operator commands, run through click against a real township pipeline."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from exchange.cli import cli
from exchange.clock import today_local
from exchange.settings import load_settings


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "town"
    result = CliRunner().invoke(cli, ["demo", "--residents", "200", "--seed", "3", "--data-dir", str(data_dir),
                                      "--no-serve", "--json"])
    assert result.exit_code == 0, result.output
    return data_dir


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_topics_list_shows_every_topic_with_its_message_count(town: Path) -> None:
    """`exchange topics list --json` reports what the adapters put on the bus."""
    result = invoke("topics", "list", "--data-dir", str(town), "--json")
    assert result.exit_code == 0
    counts = {row["topic"]: row["messages"] for row in json.loads(result.output)}
    manifest = json.loads((town / "township.json").read_text(encoding="utf-8"))
    rejects = sum(manifest["expected_rejects"].values())
    assert counts["exchange.dead-letters"] == rejects
    # Every department topic (the exchange's own are dead letters and reference data) holds its clean rows.
    published = sum(n for topic, n in counts.items() if not topic.startswith("exchange."))
    assert counts["health.family-doctor-contracts"] > 0
    assert published + rejects == sum(manifest["counts"].values())


def test_lag_is_zero_after_the_demo(town: Path) -> None:
    """The mediator committed everything the adapters published."""
    rows = json.loads(invoke("lag", "--data-dir", str(town), "--json").output)
    assert rows
    assert all(row["lag"] == 0 for row in rows)


def test_dlq_list_filters_by_reason(town: Path) -> None:
    """Dead letters can be listed by reason, each with its origin."""
    every = json.loads(invoke("dlq", "list", "--data-dir", str(town), "--json").output)
    reasons = {r["reason"] for r in every}
    assert len(reasons) > 1
    reason = sorted(reasons)[0]
    some = json.loads(invoke("dlq", "list", "--data-dir", str(town), "--reason", reason, "--json").output)
    assert some
    assert all(r["reason"] == reason for r in some)
    assert len(some) < len(every)
    assert all(r["origin"] for r in every)


def test_schemas_and_processes_validate(tmp_path: Path) -> None:
    """The shipped schemas and process definitions load; a broken definition is named with its error."""
    checked = re.search(r"ok: (\d+) schemas checked, 0 incompatible", invoke("schemas", "check").output)
    assert checked is not None
    assert int(checked.group(1)) >= 16  # every record standard, the Notice and Feedback ones included
    assert "elderly-allowance-review" in invoke("processes", "list").output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Bad Id\nversion: 0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["processes", "validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output
    assert "version" in result.output


def test_invalid_setting_stops_with_its_name() -> None:
    """A wrong bus URL is refused at start with a message naming the setting."""
    result = CliRunner().invoke(cli, ["config", "show"], env={"EXCHANGE_BUS_URL": "redis://x"})
    assert result.exit_code == 1
    assert "EXCHANGE_BUS_URL" in result.output


def test_config_show_prints_the_effective_settings(tmp_path: Path) -> None:
    """The bus and state default to files inside the data folder."""
    shown = json.loads(invoke("config", "show", "--data-dir", str(tmp_path)).output)
    assert shown["bus_url"] == f"embedded:///{tmp_path / 'bus.db'}"
    assert shown["state_url"] == f"sqlite:///{tmp_path / 'state.db'}"


def test_demo_refuses_a_folder_holding_another_township(town: Path) -> None:
    """Mixing two townships in one bus would corrupt both; the demo says so instead."""
    result = CliRunner().invoke(cli, ["demo", "--residents", "999", "--data-dir", str(town), "--no-serve"])
    assert result.exit_code == 1
    assert "another --data-dir" in result.output


def test_topics_are_provisioned_on_kafka_idempotently(kafka_broker: Any, tmp_path: Path) -> None:
    """`topics create` makes every topic of topics.yaml on a real broker once, with its partitions and retention."""
    env = {"EXCHANGE_BUS_URL": kafka_broker.url, "EXCHANGE_DATA_DIR": str(tmp_path)}
    first = json.loads(invoke("topics", "create", "--json", env=env).output)
    second = json.loads(invoke("topics", "create", "--json", env=env).output)
    assert set(first) == set(second)
    assert "public-security.residents" in first
    assert not any(second.values())  # everything existed the second time
    described = json.loads(invoke("topics", "describe", "exchange.dead-letters", "--json", env=env).output)
    assert described["config"]["retention.ms"] == "15552000000"
    listed = {row["topic"]: row["partitions"] for row in json.loads(invoke("topics", "list", "--json", env=env).output)}
    assert listed["public-security.residents"] == 4


def test_adapters_list_shows_each_sources_progress(town: Path) -> None:
    """After the demo each adapter lists its topic and how far its source got (watermark or files)."""
    rows = {r["name"]: r for r in json.loads(invoke("adapters", "list", "--data-dir", str(town), "--json").output)}
    registry, civil = rows["public_security"], rows["civil_affairs"]
    assert registry["topic"] == "public-security.residents"
    assert registry["source_kind"] == "sql table"
    [source] = registry["sources"]
    assert source["watermark"]["id"] > 0
    [folder] = civil["sources"]
    assert folder["files"] == 1
    assert folder["last_file"] == "assistance.csv"

    text = invoke("adapters", "list", "--data-dir", str(town)).output
    assert "public_security_households" in text  # long names are not cut off in the table
    assert "watermark" in text


def test_run_adapter_once_reports_rows_reasons_and_files(tmp_path: Path) -> None:
    """`exchange run adapter` publishes a folder once and says what happened to each row and file."""
    folder = tmp_path / "drop"
    folder.mkdir()
    header = "记录编号,身份证号,姓名,救助类别,状态,开始日期,结束日期,月发放金额,更新时间"
    good = "MZ1,11010519491231002X,李秀兰,高龄津贴,享受中,2020-01-01,,100.00,2026-01-05 10:00:00"
    bad = "MZ2,110105194912310021,李秀兰,高龄津贴,享受中,2020-01-01,,100.00,2026-01-05 10:00:00"
    (folder / "march.csv").write_text("\r\n".join([header, good, bad, ""]), encoding="utf-8-sig")
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 legacy excel")
    settled = 1_700_000_000  # long ago: nothing is still being written
    for path in folder.iterdir():
        os.utime(path, (settled, settled))
    result = invoke("run", "adapter", "civil_affairs", "--source", str(folder), "--data-dir", str(tmp_path / "bus"))
    assert result.exit_code == 0, result.output
    assert "civil_affairs: read 2, published 1, rejected 1 (invalid_resident_id 1); files done 1, failed 1" in (
        result.output)
    assert (folder / "done" / "march.csv").exists()
    assert "save as .xlsx or .csv" in (folder / "failed" / "old.xls.error.txt").read_text(encoding="utf-8")
    again = invoke("run", "adapter", "civil_affairs", "--source", str(folder), "--data-dir", str(tmp_path / "bus"))
    assert "read 0, published 0, rejected 0" in again.output


def test_evaluation_date_pins_the_day_processes_are_evaluated_on(tmp_path: Path) -> None:
    """EXCHANGE_EVALUATION_DATE makes a run reproducible; unset, it is today's China date."""
    assert load_settings(data_dir=tmp_path).today() == today_local()
    pinned = load_settings(data_dir=tmp_path, evaluation_date="2027-01-01")
    assert pinned.today() == date(2027, 1, 1)
    shown = invoke("config", "show", "--data-dir", str(tmp_path), env={"EXCHANGE_EVALUATION_DATE": "2027-01-01"})
    assert "2027-01-01" in shown.output
