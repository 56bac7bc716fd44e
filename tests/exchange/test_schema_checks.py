"""`exchange schemas check`: the data standards against their released versions, git and a registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import cli
from exchange.errors import SchemaError
from exchange.registry.checks import check_against_ref, check_history
from exchange.registry.standards import standards, write_snapshots
from exchange.topics import load_topics
from schemas import AVRO_DIR

RESIDENT = "gov.exchange.public_security.Resident"


@pytest.fixture
def avro_dir(tmp_path: Path) -> Path:
    """A copy of the shipped schemas that a test may edit."""
    copy = tmp_path / "avro"
    shutil.copytree(AVRO_DIR, copy)
    return copy


def edit(avro_dir: Path, change: dict | None = None, add_field: dict | None = None) -> None:
    path = avro_dir / f"{RESIDENT}.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema.update(change or {})
    if add_field:
        schema["fields"].append(add_field)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")


def failures(avro_dir: Path) -> list[str]:
    return [reason for f in check_history(load_topics(), avro_dir) if f.standard == RESIDENT for reason in f.reasons]


def test_shipped_standards_pass() -> None:
    """Every current schema is compatible with its released versions, and the CLI exits 0."""
    assert all(f.ok for f in check_history(load_topics()))
    result = CliRunner().invoke(cli, ["schemas", "check"])
    assert result.exit_code == 0, result.output


def test_new_version_with_a_required_field_is_caught(avro_dir: Path) -> None:
    """v3 adding a field without a default cannot read v1/v2 payloads: reported with the field's path."""
    edit(avro_dir, {"version": 3}, {"name": "hukou_type", "type": "string", "doc": "Household registration type."})
    reasons = failures(avro_dir)
    assert reasons
    assert all("hukou_type" in r for r in reasons)


def test_new_version_with_a_default_passes(avro_dir: Path) -> None:
    """v3 adding a nullable field with a default is a compatible change."""
    edit(avro_dir, {"version": 3}, {"name": "hukou_type", "type": ["null", "string"], "default": None,
                                    "doc": "Household registration type."})
    assert failures(avro_dir) == []


def test_editing_a_released_version_in_place_is_caught(avro_dir: Path) -> None:
    """Changing v2 after its release without raising the version is refused by check and by snapshot."""
    edit(avro_dir, add_field={"name": "nickname", "type": ["null", "string"], "default": None, "doc": "x"})
    assert any("raise its \"version\"" in r for r in failures(avro_dir))
    with pytest.raises(SchemaError, match="raise its \"version\" to 3"):
        write_snapshots(avro_dir)


def test_every_shipped_version_is_released() -> None:
    """Each current schema has its snapshot in history, so editing it in place would be caught."""
    for standard in standards().values():
        assert standard.version in standard.released, f"{standard.name} v{standard.version} is not in history"


def test_snapshot_keeps_each_released_version(avro_dir: Path) -> None:
    """`snapshot` writes a new version into history once; earlier snapshots stay as they were."""
    edit(avro_dir, {"version": 3}, {"name": "hukou_type", "type": ["null", "string"], "default": None,
                                    "doc": "Household registration type."})
    assert write_snapshots(avro_dir) == [avro_dir / "history" / f"{RESIDENT}.v3.avsc"]
    assert write_snapshots(avro_dir) == []
    assert (avro_dir / "history" / f"{RESIDENT}.v2.avsc").exists()


def test_check_against_a_git_ref() -> None:
    """The working tree's schemas are compatible with those at HEAD."""
    assert all(f.ok for f in check_against_ref(load_topics(), "HEAD"))
    with pytest.raises(SchemaError, match="git"):
        check_against_ref(load_topics(), "no-such-ref")
