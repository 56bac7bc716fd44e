"""The built-in adapters match the contract in adapters/README.md, and each reports only its own sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters import BUILT_IN, get_adapter
from adapters.base import DropFolderAdapter, SqlTableAdapter
from exchange.state import StateStore
from exchange.topics import topic_for

README = Path(__file__).resolve().parents[2] / "adapters" / "README.md"
ROW = re.compile(r"^\| `(?P<name>\w+)` \| (?P<department>\w+) \| (?P<topic>[\w.-]+) \| (?P<source>[^|]+) \| "
                 r"`(?P<path>[^`]+)` \|$")


def contract() -> dict[str, dict[str, str]]:
    """The README's adapter table, by adapter name."""
    return {m["name"]: m.groupdict() for line in README.read_text(encoding="utf-8").splitlines()
            if (m := ROW.match(line))}


def township_source_id(name: str, data_dir: Path) -> str:
    """The source id the adapter's source has when pointed at its place in a township data folder."""
    return get_adapter(name).source(str(data_dir / contract()[name]["path"].rstrip("/"))).source_id


def test_every_adapter_in_the_readme_is_built_in_with_its_topic_and_source() -> None:
    """The README table and BUILT_IN name the same adapters, departments, topics and kinds of source."""
    table = contract()
    assert sorted(table) == sorted(adapter.name for adapter in BUILT_IN)
    for adapter in BUILT_IN:
        row = table[adapter.name]
        assert (adapter.department, topic_for(adapter.department, adapter.record_type).name) == (
            row["department"], row["topic"])
        if row["source"].startswith("SQLite table"):
            assert issubclass(adapter, SqlTableAdapter)
            assert row["source"] == f"SQLite table `{adapter.table}`"
        else:
            assert issubclass(adapter, DropFolderAdapter)
            assert row["path"].rstrip("/") in adapter.folders


@pytest.mark.parametrize("name", sorted(adapter.name for adapter in BUILT_IN))
def test_each_township_source_is_owned_by_its_adapter_alone(tmp_path: Path, name: str) -> None:
    """A source at the README's path, a folder or one file in it, is claimed by exactly one adapter."""
    source_ids = [township_source_id(name, tmp_path)]
    if issubclass(get_adapter(name).__class__, DropFolderAdapter):
        source_ids.append(f"{source_ids[0]}/export.xlsx")
    for source_id in source_ids:
        assert [a.name for a in BUILT_IN if a().owns_source(source_id)] == [name], source_id


def test_a_township_folder_from_before_the_funerals_export_stays_with_assistance(tmp_path: Path) -> None:
    """Files in civil_affairs/ itself (the older layout) still count as the assistance adapter's progress."""
    old = f"csv:{(tmp_path / 'civil_affairs').resolve()}"
    assert [a.name for a in BUILT_IN if a().owns_source(old)] == ["civil_affairs"]
    assert [a.name for a in BUILT_IN if a().owns_source(f"{old}/a.csv")] == ["civil_affairs"]


def test_adapters_list_shows_each_adapter_its_own_progress(tmp_path: Path) -> None:
    """`exchange adapters list` puts each source's watermark or file count under its own adapter only."""
    from exchange.cli import cli  # the whole command line: imported here so the contract tests above stand alone

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = StateStore(f"sqlite:///{data_dir / 'state.db'}")
    store.create_schema()
    expected = {}
    for adapter in BUILT_IN:
        source_id = township_source_id(adapter.name, data_dir)
        expected[adapter.name] = [source_id]
        if issubclass(adapter, SqlTableAdapter):
            store.save_checkpoint(source_id, {"ts": "2026-01-01 08:00:00", "id": 1, "recent": []})
        else:
            store.mark_file_processed(source_id, adapter.name.ljust(64, "0"), f"{adapter.name}.csv", 3, 0)
    store.close()
    result = CliRunner().invoke(cli, ["adapters", "list", "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    listed = {row["name"]: [source["source_id"] for source in row["sources"]] for row in json.loads(result.output)}
    assert listed == expected
